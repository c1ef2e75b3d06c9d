//! The CPython oracle for unit tests: the one place they start `python3`.
//!
//! Any python3 from 3.8 on serves; a test whose expected output depends on the
//! version says which and asks [`python_version`] rather than assuming one.
extern crate std;

use std::io::Write;
use std::process::{Command, Stdio};
use std::string::String;
use std::vec::Vec;

/// Runs `python3 -c script` with `stdin` as its input and returns its stdout.
///
/// Panics (failing the test) when python3 is missing, older than 3.8 or exits non-zero.
pub(crate) fn python3_with_input(script: &str, stdin: &[u8]) -> String {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(std::format!(
            "import sys\nassert sys.version_info >= (3, 8), 'the oracle needs python3 >= 3.8'\n{script}"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (the CPython oracle) must be installed to run these tests");
    let mut input = child.stdin.take().expect("piped stdin");
    // The input is written from its own thread while this one drains stdout and stderr, so a
    // script that prints before it has read everything cannot fill both pipes and deadlock.
    // A script that stops reading early closes the pipe; its exit status tells.
    let out = std::thread::scope(|scope| {
        scope.spawn(move || {
            let _ = input.write_all(stdin);
        });
        child.wait_with_output().expect("python3 runs")
    });
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("python3 output is UTF-8")
}

/// Runs `python3 -c script` and returns its stdout; see [`python3_with_input`].
pub(crate) fn python3(script: &str) -> String {
    python3_with_input(script, b"")
}

/// The oracle's `(major, minor)` version.
pub(crate) fn python_version() -> (u32, u32) {
    let out = python3("print(*sys.version_info[:2])");
    let mut it = out.split_whitespace().map(|n| n.parse().expect("a number"));
    (it.next().expect("major"), it.next().expect("minor"))
}

pub(crate) fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex {s:?}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|b| std::format!("{b:02x}")).collect()
}

#[test]
#[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
fn the_oracle_is_python_3_8_or_newer() {
    let (major, minor) = python_version();
    assert!(major == 3 && minor >= 8, "python3 is {major}.{minor}");
}

#[test]
#[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
fn a_script_that_prints_before_reading_large_input_does_not_deadlock() {
    // 1 MiB out before 1 MiB in: both pipes' buffers (64 KiB on Linux) fill unless stdin is
    // fed while stdout drains.
    let input = std::vec![b'x'; 1 << 20];
    let out = python3_with_input(
        "sys.stdout.write('y' * (1 << 20))\nsys.stdout.write(str(len(sys.stdin.buffer.read())))",
        &input,
    );
    assert_eq!(out.len(), (1 << 20) + 7);
    assert!(out.ends_with("1048576"), "{}", &out[out.len() - 7..]);
}

/// A small fixed-seed generator (splitmix64), for tests that sample many values (the float
/// repr's and the float parser's).
#[cfg(any(feature = "repr", feature = "pickler", feature = "float-text"))]
pub(crate) fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
