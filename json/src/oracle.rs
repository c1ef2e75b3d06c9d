//! The tests' CPython oracle: runs a python3 script on some input and returns what it prints.

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `python3 -c script` with `input` on its stdin; its stdout. Fails the test when python3
/// cannot be run or the script fails.
pub(crate) fn python(script: &str, input: &[u8]) -> String {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 (the CPython oracle) must be installed");
    // Written from another thread: a script whose output fills the pipe before it has read
    // all its input would otherwise wait on us while we wait on it.
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}
