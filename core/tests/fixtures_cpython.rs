//! The shared byte fixtures are what CPython writes (3.8 and later write the same bytes; the
//! protocol is always named, as 3.14's default is 5). A missing python3 fails the test.
// Every test here runs python3, which Miri cannot spawn: skipped under `cargo miri test`.
#![cfg(not(miri))]

mod common;

use common::fixtures::*;
use std::process::Command;

fn python(expr: &str) -> Vec<u8> {
    let out = Command::new("python3")
        .args([
            "-c",
            &format!("import pickle, sys; sys.stdout.buffer.write({expr})"),
        ])
        .output()
        .expect("python3 must be installed: CPython is the oracle for these tests");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn fixtures_are_cpython_output() {
    let cases: &[(&str, &[u8])] = &[
        ("pickle.dumps({'clientid': 54321}, 4)", CLIENT_ID),
        ("pickle.dumps({'clientid': 'abc'}, 4)", CLIENT_ID_STR),
        ("pickle.dumps({'clientid': 54321}, 2)", CLIENT_ID_V2),
        ("pickle.dumps('Server got the data', 4)", ACK),
        ("pickle.dumps([1, 2, 3], 4)", LIST),
        (
            "pickle.dumps({'name': 'Jose Ortiz', 'email': 'jose@sfsu.edu', 'student_id': 917654321, 'github_username': 'jortiz'}, 4)",
            IDENTITY,
        ),
        ("pickle.dumps('x' * 5000, 4)", &big_message()),
    ];
    for (expr, fixture) in cases {
        assert_eq!(python(expr), *fixture, "{expr}");
    }
    // EVIL is hand-written (CPython would pickle the function's result); check it is what
    // pickletools reads as GLOBAL os.system + REDUCE, without loading it.
    let dis = python(&format!(
        "__import__('pickletools').dis(bytes({EVIL:?}), out=__import__('io').StringIO()) or b'ok'"
    ));
    assert_eq!(dis, b"ok");
}
