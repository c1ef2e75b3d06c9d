//! The real `brine` binary against small servers on 127.0.0.1, and `brine pickle` against
//! CPython (`python3` is required: these tests fail without it).

use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod common;
use common::*;

/// Runs python3 with `script` and `stdin`; python3 missing is a failure, not a skip.
fn python(script: &str, stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is required for these tests (CPython is the oracle): install python3");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

const ME: [&str; 8] = [
    "--name",
    "Jose Ortiz",
    "--email",
    "jose@sfsu.edu",
    "--student-id",
    "917654321",
    "--github",
    "jortiz",
];

#[test]
fn text_output_reads_like_the_lab() {
    let big = p4(&"x".repeat(10_000));
    let (addr, server) = lab_server(vec![big.clone(), p4(&(1, "two", 3.0))]);
    let mut args = vec![addr.as_str()];
    args.extend(ME);
    let out = brine(&args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "Assigned client id by server: 54321\n'Server got the data'\n(1, 'two', 3.0)\n"
    );
    assert_eq!(
        stderr(&out),
        format!(
            "connected to {addr}\n\
             sent {{'student_name': 'Jose Ortiz', 'email': 'jose@sfsu.edu', 'sid': 917654321, 'github_username': 'jortiz'}}\n\
             skipped a {}-byte message: larger than the 4096-byte receive buffer (see it with --buffer {})\n\
             server closed the connection\n",
            big.len(),
            big.len()
        )
    );
    let identity = server.join().unwrap();
    // Byte for byte what the lab's Python client sends.
    let expected = python(
        "import pickle,sys; sys.stdout.buffer.write(pickle.dumps({'student_name': 'Jose Ortiz', \
         'email': 'jose@sfsu.edu', 'sid': 917654321, 'github_username': 'jortiz'}))",
        b"",
    );
    assert_eq!(identity, expected);
}

#[test]
fn quiet_keeps_stderr_empty() {
    let (addr, server) = lab_server(vec![]);
    let out = brine(&[&addr, "-q", "--name", "A"]);
    assert_eq!(code(&out), 0);
    assert_eq!(stderr(&out), "");
    assert_eq!(
        stdout(&out),
        "Assigned client id by server: 54321\n'Server got the data'\n"
    );
    server.join().unwrap();
}

#[test]
fn json_output_is_one_object_per_line() {
    let big = p4(&"y".repeat(5000));
    let message = {
        // {'big': 2**100, 'list': [1, 2.5, None, True], 'bytes': b'\x00\xff', 7: 'int key'}
        python(
            "import pickle,sys; sys.stdout.buffer.write(pickle.dumps({'big': 2**100, \
             'list': [1, 2.5, None, True], 'set': {3}, 'bytes': b'\\x00\\xff', 7: 'int key', \
             'inf': float('inf'), 'tuple': (1,)}, 4))",
            b"",
        )
    };
    let (addr, server) = lab_server(vec![big.clone(), message]);
    let out = brine(&[
        &addr,
        "--format",
        "json",
        "--name",
        "Jose",
        "--field",
        "n:=123456789012345678901234567890",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(String::from).collect();
    let expected = [
        format!(r#"{{"event":"connected","peer":"{addr}"}}"#),
        r#"{"event":"client_id","value":54321}"#.to_string(),
        r#"{"event":"sent","value":{"student_name":"Jose","n":123456789012345678901234567890},"protocol":4}"#
            .to_string(),
        r#"{"event":"message","value":"Server got the data"}"#.to_string(),
        format!(
            r#"{{"event":"skipped","bytes":{},"reason":"larger than the 4096-byte receive buffer"}}"#,
            big.len()
        ),
        r#"{"event":"message","value":{"big":1267650600228229401496703205376,"list":[1,2.5,null,true],"set":[3],"bytes":{"bytes_hex":"00ff"},"7":"int key","inf":null,"tuple":[1]}}"#
            .to_string(),
        r#"{"event":"closed"}"#.to_string(),
    ];
    assert_eq!(lines, expected);
    for line in &lines {
        serde_json::from_str::<serde_json::Value>(line).expect("each line is JSON");
    }
    assert_eq!(
        repr(&server.join().unwrap()),
        "{'student_name': 'Jose', 'n': 123456789012345678901234567890}"
    );
}

#[test]
fn refused_port_exits_3() {
    let port = free_port();
    let out = brine(&[&format!("127.0.0.1:{port}"), "--name", "A"]);
    assert_eq!(code(&out), 3);
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        format!("error: connection refused by 127.0.0.1:{port}: is the server running?\n")
    );
}

#[test]
fn silent_server_exits_4_after_the_timeout() {
    let (addr, server) = server(|stream| {
        thread::sleep(Duration::from_secs(3));
        drop(stream);
    });
    let started = Instant::now();
    let out = brine(&[&addr, "--timeout", "1", "-q"]);
    let took = started.elapsed();
    assert_eq!(code(&out), 4);
    assert_eq!(
        stderr(&out),
        "error: timed out after 1 s waiting for the client id\n"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    server.join().unwrap();
}

#[test]
fn idle_timeout_exits_4() {
    let (addr, server) = server(|mut stream| {
        stream.write_all(&hello(1)).unwrap();
        read_pickle(&mut stream);
        thread::sleep(Duration::from_secs(2));
    });
    let out = brine(&[&addr, "--idle-timeout", "0.5", "-q"]);
    assert_eq!(code(&out), 4);
    assert_eq!(stdout(&out), "Assigned client id by server: 1\n");
    assert_eq!(
        stderr(&out),
        "error: no message for 0.5 s (--idle-timeout)\n"
    );
    server.join().unwrap();
}

#[test]
fn half_a_message_exits_4() {
    let (addr, server) = server(|mut stream| {
        stream.write_all(&hello(1)).unwrap();
        read_pickle(&mut stream);
        let m = p4("Server got the data");
        stream.write_all(&m[..m.len() / 2]).unwrap();
        thread::sleep(Duration::from_secs(2));
    });
    let out = brine(&[&addr, "--timeout", "0.5", "-q"]);
    assert_eq!(code(&out), 4);
    assert_eq!(
        stderr(&out),
        "error: timed out after 0.5 s waiting for the rest of a message\n"
    );
    server.join().unwrap();
}

#[test]
fn close_before_the_id_exits_5() {
    let (addr, server) = server(drop);
    let out = brine(&[&addr, "-q"]);
    assert_eq!(code(&out), 5);
    assert_eq!(
        stderr(&out),
        "error: protocol error: the server closed the connection before sending a client id\n"
    );
    server.join().unwrap();
}

#[test]
fn invalid_pickle_exits_5_after_the_good_messages() {
    let (addr, server) = server(|mut stream| {
        stream.write_all(&hello(1)).unwrap();
        read_pickle(&mut stream);
        let mut bytes = p4("fine");
        bytes.extend_from_slice(b"\xff\xff not a pickle");
        stream.write_all(&bytes).unwrap();
        thread::sleep(Duration::from_millis(500));
    });
    let out = brine(&[&addr, "-q"]);
    assert_eq!(code(&out), 5);
    assert_eq!(stdout(&out), "Assigned client id by server: 1\n'fine'\n");
    let err = stderr(&out);
    assert!(err.starts_with("error: protocol error: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    server.join().unwrap();
}

/// By default a code-running pickle is shown as an inert stub of what it names (nothing
/// runs), with one note on stderr however many stubs arrive.
#[test]
fn code_running_message_is_shown_as_a_stub_with_one_note() {
    let (addr, server) = server(|mut stream| {
        stream.write_all(&hello(1)).unwrap();
        read_pickle(&mut stream);
        let mut bytes = b"cos\nsystem\n(S'echo hi'\ntR.".to_vec();
        bytes.extend(b"cos\nsystem\n(S'echo hi'\ntR.");
        bytes.extend(p4("after"));
        stream.write_all(&bytes).unwrap();
    });
    let out = brine(&[&addr]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        stdout(&out),
        "Assigned client id by server: 1\n<os.system('echo hi')>\n<os.system('echo hi')>\n'after'\n"
    );
    let note = "note: objects of classes brine does not know are shown as inert stubs; nothing is imported or run";
    assert_eq!(stderr(&out).matches(note).count(), 1, "{}", stderr(&out));
    server.join().unwrap();
}

#[test]
fn refused_message_is_skipped_not_fatal() {
    let (addr, server) = server(|mut stream| {
        stream.write_all(&hello(1)).unwrap();
        read_pickle(&mut stream);
        let mut bytes = b"cos\nsystem\n(S'echo hi'\ntR.".to_vec();
        bytes.extend(p4("after"));
        stream.write_all(&bytes).unwrap();
    });
    let out = brine(&[&addr, "--refuse-objects"]);
    assert_eq!(code(&out), 0);
    assert_eq!(stdout(&out), "Assigned client id by server: 1\n'after'\n");
    assert!(
        stderr(&out).contains("skipped a 26-byte message: ") && stderr(&out).contains("os.system"),
        "{}",
        stderr(&out)
    );
    server.join().unwrap();
}

#[test]
fn closed_mid_message_exits_5() {
    let (addr, server) = server(|mut stream| {
        stream.write_all(&hello(1)).unwrap();
        read_pickle(&mut stream);
        let m = p4("Server got the data");
        stream.write_all(&m[..5]).unwrap();
    });
    let out = brine(&[&addr, "-q"]);
    assert_eq!(code(&out), 5);
    assert_stderr_has(&out, "closed the connection in the middle of a message");
    server.join().unwrap();
}

#[test]
fn settings_from_environment_variables() {
    let (addr, server) = lab_server(vec![]);
    let out = brine_env(
        &[],
        &[
            ("BRINE_SERVER", addr.as_str()),
            ("BRINE_NAME", "Env Name"),
            ("BRINE_EMAIL", "env@example.org"),
            ("BRINE_STUDENT_ID", "0042"),
            ("BRINE_GITHUB", "envuser"),
            ("BRINE_PROTOCOL", "2"),
            ("BRINE_FORMAT", "json"),
            ("BRINE_TIMEOUT", "5"),
        ],
        b"",
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).starts_with(r#"{"event":"connected""#));
    let identity = server.join().unwrap();
    assert!(
        identity.starts_with(b"\x80\x02"),
        "protocol 2: {identity:?}"
    );
    assert_eq!(
        repr(&identity),
        "{'student_name': 'Env Name', 'email': 'env@example.org', 'sid': '0042', 'github_username': 'envuser'}"
    );
}

#[test]
fn flags_override_environment_variables() {
    let (addr, server) = lab_server(vec![]);
    let out = brine_env(
        &[&addr, "--name", "Flag"],
        &[("BRINE_SERVER", "127.0.0.1:1"), ("BRINE_NAME", "Env")],
        b"",
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(repr(&server.join().unwrap()), "{'student_name': 'Flag'}");
}

#[test]
fn typed_fields() {
    let (addr, server) = lab_server(vec![]);
    let out = brine(&[
        &addr,
        "--keys",
        "handout",
        "--name",
        "A",
        "--field",
        "student_id:=917654321",
        "--field",
        "section=3",
        "--field",
        r#"tags:=["x", 1, 2.5, null, true, {"k": "v"}]"#,
        "--field",
        "url=a=b",
        "--field",
        "name=B",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        repr(&server.join().unwrap()),
        "{'name': 'B', 'student_id': 917654321, 'section': '3', \
         'tags': ['x', 1, 2.5, None, True, {'k': 'v'}], 'url': 'a=b'}"
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["--protocol", "9"][..],
        &["--field", "nokey"],
        &["--field", "k:=not json"],
        &["--timeout", "soon"],
        &["[::1"],
        &["host:99999"],
    ] {
        let out = brine(args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "");
    }
}

#[test]
fn identity_too_large_for_the_lab_is_a_usage_error() {
    let long = format!("note={}", "z".repeat(5000));
    let out = brine(&["127.0.0.1:1", "--field", &long]);
    assert_eq!(code(&out), 2);
    assert_stderr_has(&out, "4096");
}

#[test]
fn retries_until_the_server_is_up() {
    let port = free_port();
    let server = thread::spawn(move || {
        thread::sleep(Duration::from_millis(700));
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let (mut stream, _) = listener.accept().unwrap();
        stream.write_all(&hello(3)).unwrap();
        read_pickle(&mut stream);
        stream.write_all(&p4("ok")).unwrap();
    });
    let out = brine(&[&format!("127.0.0.1:{port}"), "--retry", "12"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "Assigned client id by server: 3\n'ok'\n");
    assert_stderr_has(&out, "is the server running? Retrying in ");
    server.join().unwrap();
}

#[test]
fn help_documents_exit_codes_and_env() {
    let out = brine(&["--help"]);
    assert_eq!(code(&out), 0);
    let help = stdout(&out);
    for needle in [
        "Exit status:",
        "3  could not connect",
        "4  timed out",
        "5  protocol error",
        "BRINE_SERVER",
        "BRINE_NAME",
        "BRINE_TIMEOUT",
        "KEY:=JSON",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}");
    }
}

const JSON_LINES: &str = r#"{"clientid": 54321}
{"name": "Jose Ortiz", "email": "jose@sfsu.edu", "student_id": 917654321, "github_username": "jortiz"}
"Server got the data"

[1, -1, 255, 256, 65535, 65536, -2147483648, 2147483648, 9223372036854775807, 9223372036854775808, 18446744073709551615, 18446744073709551616, -170141183460469231731687303715884105728, 340282366920938463463374607431768211455]
[0.0, -0.0, 1.5, 1e100, 1e-7, 3.141592653589793, 1e999]
{"z": null, "a": true, "m": false, "nested": {"list": [[], {}, ["é", "😀", "\u0000\n"]]}}
"""#;

#[test]
fn pickle_encode_matches_cpython() {
    for protocol in ["2", "3", "4", "5"] {
        assert_encode_is_cpythons(JSON_LINES, protocol);
    }
    // Protocols 0 and 1: what CPython loads back equals json.loads of each line.
    for protocol in ["0", "1"] {
        let out = brine_env(
            &["pickle", "encode", "--protocol", protocol],
            &[],
            JSON_LINES.as_bytes(),
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let mut input = out.stdout.clone();
        input.extend_from_slice(b"\n--split--\n");
        input.extend_from_slice(JSON_LINES.as_bytes());
        let verdict = python(
            "import io,json,pickle,sys\n\
             data = sys.stdin.buffer.read()\n\
             pickles, text = data.split(b'\\n--split--\\n')\n\
             f = io.BytesIO(pickles)\n\
             for line in text.decode().splitlines():\n    \
                 if not line.strip(): continue\n    \
                 want = json.loads(line); got = pickle.load(f)\n    \
                 assert repr(got) == repr(want), (got, want)\n\
             assert f.read() == b''\n\
             print('ok')",
            &input,
        );
        assert_eq!(verdict, b"ok\n", "protocol {protocol}");
    }
}

/// Issue 22 point 4: the standard types' JSON forms pickle as CPython pickles the values
/// `json.loads` with a hook makes of them, in protocols 2-5.
#[test]
fn pickle_encode_writes_standard_types() {
    let line = r#"{"at": {"$datetime": "2026-12-06T14:00:00"}, "day": {"$date": "2026-12-06"}, "price": {"$decimal": "9.99"}, "id": {"$uuid": "12345678-1234-5678-1234-567812345678"}, "utc": {"$datetime": "2026-12-06T14:00:00+00:00"}, "cet": {"$datetime": "2026-12-06T14:00:00+01:00"}, "t": {"$time": "14:00:00.000001Z"}, "z": {"$timezone": "+00:00"}, "c": {"$complex": {"real": 1.5, "imag": -0.0}}, "f": {"$fraction": "-1/3"}, "r": {"$range": {"start": 0, "stop": 10, "step": -2}}, "s": {"$slice": {"start": null, "stop": 2, "step": null}}}"#;
    for protocol in ["2", "3", "4", "5"] {
        let out = brine_env(
            &["pickle", "encode", "--protocol", protocol],
            &[],
            line.as_bytes(),
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let want = python(
            &format!(
                "import datetime, decimal, fractions, json, pickle, sys, uuid\n\
                 def forms(d):\n\
                 \x20   (k, v), = d.items() if len(d) == 1 else ((None, None),)\n\
                 \x20   return {{'$decimal': decimal.Decimal, '$uuid': uuid.UUID, \
                 '$date': datetime.date.fromisoformat, \
                 '$datetime': datetime.datetime.fromisoformat, \
                 '$time': datetime.time.fromisoformat, \
                 '$timezone': lambda o: datetime.datetime.fromisoformat('2000-01-01T00:00:00' + o).tzinfo, \
                 '$complex': lambda c: complex(c['real'], c['imag']), \
                 '$fraction': fractions.Fraction, \
                 '$range': lambda r: range(r['start'], r['stop'], r['step']), \
                 '$slice': lambda r: slice(r['start'], r['stop'], r['step'])}}.get(k, lambda _: d)(v)\n\
                 sys.stdout.buffer.write(pickle.dumps(json.loads(sys.stdin.read(), object_hook=forms), {protocol}))"
            ),
            line.as_bytes(),
        );
        assert_eq!(out.stdout, want, "protocol {protocol}");
    }
    let out = brine_env(
        &["pickle", "encode", "--protocol", "1"],
        &[],
        line.as_bytes(),
    );
    assert_ne!(code(&out), 0);
    assert_stderr_has(&out, "protocol 0 or 1");
    // A form with a value it does not take: the line, the form, the key, what it takes.
    let out = brine_env(
        &["pickle", "encode"],
        &[],
        b"{\"ok\": 1}\n{\"r\": {\"$range\": {\"stop\": 3, \"step\": 0}}}\n",
    );
    assert_ne!(code(&out), 0);
    let e = stderr(&out);
    assert!(
        e.contains("line 2") && e.contains(r#"{"$range": ...}: "step" must not be 0"#),
        "{e}"
    );
}

/// Issue 22 point 4: the collections' JSON forms pickle as CPython pickles what the hook
/// makes of them in protocols 2-5, and `pickle decode` prints those pickles as CPython's repr;
/// a bad form is an error naming it.
#[test]
fn pickle_encode_writes_collections_and_decode_prints_them() {
    let line = r#"{"od": {"$ordereddict": [[1, "a"], [true, "b"], ["k", {"$deque": [1], "maxlen": 2}]]}, "c": {"$counter": {"x": 3, "y": 1}}, "dd": {"$defaultdict": "list", "items": {"z": [{"$date": "2026-12-06"}]}}}"#;
    for protocol in ["2", "3", "4", "5"] {
        let out = brine_env(
            &["pickle", "encode", "--protocol", protocol],
            &[],
            line.as_bytes(),
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let script = format!(
            "import builtins, collections as C, datetime, json, pickle, sys\n\
             def items(x): return x.items() if isinstance(x, dict) else [tuple(p) for p in x]\n\
             def forms(d):\n\
             \x20   if '$ordereddict' in d: return C.OrderedDict(items(d['$ordereddict']))\n\
             \x20   if '$counter' in d: return C.Counter(dict(items(d['$counter'])))\n\
             \x20   if '$deque' in d: return C.deque(d['$deque'], d.get('maxlen'))\n\
             \x20   if '$defaultdict' in d: return C.defaultdict(getattr(builtins, d['$defaultdict']), items(d['items']))\n\
             \x20   if '$date' in d: return datetime.date.fromisoformat(d['$date'])\n\
             \x20   return d\n\
             v = json.loads(sys.stdin.read(), object_hook=forms)\n\
             sys.stdout.buffer.write(pickle.dumps(v, {protocol}) if sys.argv[1:] == [] else (repr(v) + '\\n').encode())"
        );
        let want = python(&script, line.as_bytes());
        assert_eq!(out.stdout, want, "protocol {protocol}");
        let decoded = brine_env(&["pickle", "decode"], &[], &out.stdout);
        assert_eq!(code(&decoded), 0, "{}", stderr(&decoded));
        let mut child = Command::new("python3")
            .args(["-c", &script, "repr"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(line.as_bytes())
            .unwrap();
        let repr = child.wait_with_output().unwrap().stdout;
        assert!(
            repr.starts_with(b"{'od': OrderedDict([(1, 'b'), "),
            "{repr:?}"
        );
        assert_eq!(
            String::from_utf8_lossy(&decoded.stdout),
            String::from_utf8_lossy(&repr)
        );
    }
    let out = brine_env(
        &["pickle", "encode"],
        &[],
        br#"{"$deque": [1, 2, 3], "maxlen": 2}"#,
    );
    assert_eq!(code(&out), 5);
    assert_stderr_has(&out, "3 items, more than its maxlen 2");
}

#[test]
fn pickle_encode_refuses_bad_input_with_the_line() {
    let out = brine_env(&["pickle", "encode"], &[], b"1\n{\"a\": \n");
    assert_eq!(code(&out), 5);
    assert_stderr_starts(&out, "error: line 2: not a JSON value");
    // Python's json refuses integers of more than 4300 digits (its int() limit); so does brine.
    let line = format!("[1, {}]\n", "7".repeat(4301));
    let out = brine_env(&["pickle", "encode"], &[], line.as_bytes());
    assert_eq!(code(&out), 5);
    assert_stderr_has(
        &out,
        "line 1: not a JSON value: an integer of 4301 digits at byte 4",
    );
}

/// Issue 12 point 8: integers of any size (to Python's 4300 digits), NaN/Infinity and lone
/// surrogates, as `json.loads` reads them, pickled byte for byte as
/// `pickle.dumps(json.loads(line), P)` in every protocol.
#[test]
fn pickle_encode_writes_cpythons_bytes_for_big_ints_nan_and_surrogates() {
    let lines = format!(
        "{}\n-{}\n[NaN, Infinity, -Infinity, 1e999]\n\"\\ud800a\\udfff\\ud83d\\ude00\"\n\
         {{\"\\udc00\": [340282366920938463463374607431768211456, -170141183460469231731687303715884105729]}}\n",
        "1".repeat(4300),
        "9".repeat(617)
    );
    for protocol in ["0", "1", "2", "3", "4", "5"] {
        assert_encode_is_cpythons(&lines, protocol);
    }
}

/// `brine pickle encode --protocol P` of `lines` writes `pickle.dumps(json.loads(line), P)`
/// of each non-blank line, byte for byte.
fn assert_encode_is_cpythons(lines: &str, protocol: &str) {
    let out = brine_env(
        &["pickle", "encode", "--protocol", protocol],
        &[],
        lines.as_bytes(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let expected = python(
        &format!(
            "import json,pickle,sys\n\
             for line in sys.stdin:\n    \
                 if line.strip(): sys.stdout.buffer.write(pickle.dumps(json.loads(line), {protocol}))"
        ),
        lines.as_bytes(),
    );
    assert_eq!(out.stdout, expected, "protocol {protocol}");
}

/// Python objects, one per line, as Python expressions; CPython pickles them in every
/// protocol and prints their reprs. The last two hold more than 65,535 values (issue 12).
const PY_VALUES: &str = r#"{'clientid': 54321}
'Server got the data'
[1, 2**64, -2**200, 1.5, float('inf'), float('nan'), -0.0, None, True, False]
(1,)
()
{1, 2, 3}
frozenset({4})
set()
b'\x00abc\xff'
bytearray(b'xy')
{'nested': [{'a': (1, 2)}, 'é😀\n\'"']}
'x' * 70000
list(range(-50000, 50000))
{str(i): [i] for i in range(70000)}
"#;

#[test]
fn pickle_decode_repr_matches_cpython() {
    let script = "import pickle,sys\n\
        values = [eval(l) for l in sys.stdin.read().splitlines() if l.strip()]\n\
        out = b''\n\
        for p in range(6):\n    \
            for v in values: out += pickle.dumps(v, p)\n\
        reprs = ''.join(repr(v) + '\\n' for v in values) * 6\n\
        sys.stdout.buffer.write(len(out).to_bytes(8, 'little') + out + reprs.encode())";
    let generated = python(script, PY_VALUES.as_bytes());
    let len = u64::from_le_bytes(generated[..8].try_into().unwrap()) as usize;
    let (pickles, reprs) = generated[8..].split_at(len);
    let out = brine_env(&["pickle", "decode"], &[], pickles);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), String::from_utf8(reprs.to_vec()).unwrap());
}

#[test]
fn pickle_decode_json() {
    let pickles = python(
        "import pickle,sys; sys.stdout.buffer.write(pickle.dumps({'a': [1, (2,), {3}], 'b': b'\\x01', \
         'c': 2**70, 5: None, 'f': 0.1}) + pickle.dumps('two', 2))",
        b"",
    );
    let out = brine_env(&["pickle", "decode", "--format", "json"], &[], &pickles);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "{\"a\":[1,[2],[3]],\"b\":{\"bytes_hex\":\"01\"},\"c\":1180591620717411303424,\"5\":null,\"f\":0.1}\n\"two\"\n"
    );
}

/// Issue 22: an int past Python's 4300 digits (repr: its `hex()`) is a JSON string of that
/// hex, from the client and from `brine pickle decode`; CPython's `json.loads` reads every
/// line (it refuses a number that long).
#[test]
fn ints_past_4300_digits_are_json_strings() {
    let pickle = python(
        "import pickle,sys; sys.stdout.buffer.write(pickle.dumps([-2**14300, 10**4300 - 1], 4))",
        b"",
    );
    let (addr, server) = lab_server(vec![pickle.clone()]);
    let client = brine(&[&addr, "--format", "json", "--name", "Jose"]);
    assert_eq!(code(&client), 0, "{}", stderr(&client));
    server.join().unwrap();
    let decoded = brine_env(&["pickle", "decode", "--format", "json"], &[], &pickle);
    assert_eq!(code(&decoded), 0, "{}", stderr(&decoded));
    let message = stdout(&client)
        .lines()
        .filter(|l| l.starts_with(r#"{"event":"message""#))
        .nth(1)
        .expect("the lab's ack, then the message")
        .to_owned();
    let check = "import json, sys\n\
        sys.set_int_max_str_digits(0); nines = 10**4300 - 1; sys.set_int_max_str_digits(4300)\n\
        want = [hex(-2**14300), nines]\n\
        lines = sys.stdin.read().splitlines()\n\
        assert json.loads(lines[0])['value'] == want\n\
        assert json.loads(lines[1]) == want\n\
        print('ok')";
    let out = python(check, format!("{message}\n{}", stdout(&decoded)).as_bytes());
    assert_eq!(String::from_utf8(out).unwrap(), "ok\n");
}

/// Issue 22: a container inside itself prints as CPython's repr prints it, and its JSON marks
/// the cycle (`{"$cycle":"[...]"}`), which `json.loads` reads.
#[test]
fn self_referencing_containers_print_as_python_does() {
    let script = "import pickle,sys\n\
        l = []; l.append(l); d = {}; d['a'] = [d]\n\
        sys.stdout.buffer.write(pickle.dumps(l, 2) + pickle.dumps(d, 4))\n\
        assert repr(l) == '[[...]]' and repr(d) == \"{'a': [{...}]}\"";
    let pickles = python(script, b"");
    let text = brine_env(&["pickle", "decode"], &[], &pickles);
    assert_eq!(code(&text), 0, "{}", stderr(&text));
    assert_eq!(stdout(&text), "[[...]]\n{'a': [{...}]}\n");
    let json = brine_env(&["pickle", "decode", "--format", "json"], &[], &pickles);
    assert_eq!(code(&json), 0, "{}", stderr(&json));
    assert_eq!(
        stdout(&json),
        "[{\"$cycle\":\"[...]\"}]\n{\"a\":[{\"$cycle\":\"{...}\"}]}\n"
    );
    let check = "import json,sys\n\
        lines = sys.stdin.read().splitlines()\n\
        assert json.loads(lines[0]) == [{'$cycle': '[...]'}]\n\
        assert json.loads(lines[1]) == {'a': [{'$cycle': '{...}'}]}\n\
        print('ok')";
    assert_eq!(python(check, &json.stdout), b"ok\n");
}

#[test]
fn pickle_round_trip_through_brine_alone() {
    let encoded = brine_env(&["pickle", "encode"], &[], JSON_LINES.as_bytes());
    assert_eq!(code(&encoded), 0);
    let decoded = brine_env(
        &["pickle", "decode", "--format", "json"],
        &[],
        &encoded.stdout,
    );
    assert_eq!(code(&decoded), 0, "{}", stderr(&decoded));
    let want: Vec<serde_json::Value> = JSON_LINES
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<serde_json::Value> = stdout(&decoded)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!(same(g, w), "{g} != {w}");
    }
}

/// JSON equality with numbers compared by value (1e-07 == 1e-7); an infinite float (1e999,
/// which is inf in Python) comes back as null.
fn same(got: &serde_json::Value, want: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (got, want) {
        (J::Null, J::Number(n)) => n.as_str().parse::<f64>().is_ok_and(f64::is_infinite),
        (J::Number(a), J::Number(b)) => {
            let int = |s: &str| s.bytes().all(|c| c == b'-' || c.is_ascii_digit());
            if int(a.as_str()) || int(b.as_str()) {
                a.as_str() == b.as_str()
            } else {
                a.as_f64() == b.as_f64()
            }
        }
        (J::Array(a), J::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (J::Object(a), J::Object(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|((k, x), (l, y))| k == l && same(x, y))
        }
        _ => got == want,
    }
}

#[test]
fn pickle_decode_stops_at_the_first_bad_pickle() {
    let mut input = p4(&"ok");
    let first = input.len();
    input.extend_from_slice(b"cos\nsystem\n(S'echo hi'\ntR.");
    input.extend(p4(&"never printed"));
    let out = brine_env(&["pickle", "decode", "--refuse-objects"], &[], &input);
    assert_eq!(code(&out), 5);
    assert_eq!(stdout(&out), "'ok'\n");
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!("error: pickle 2 (at input offset {first}): ")),
        "{err}"
    );
    assert!(err.contains("os.system"), "{err}");

    let out = brine_env(&["pickle", "decode"], &[], b"\x80\x04K\x01.\x80\x04K");
    assert_eq!(code(&out), 5);
    assert_eq!(stdout(&out), "1\n");
    assert_stderr_has(&out, "ended inside a pickle");

    let out = brine_env(&["pickle", "decode"], &[], b"\x80\x04K\x01.\xff");
    assert_eq!(code(&out), 5);
    assert_stderr_starts(&out, "error: not a pickle stream");
}

#[test]
fn demo_shows_both_sides_and_exits_0() {
    let out = brine(&["demo"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "client | Assigned client id by server: 54321",
        "server | Client 54321 connected from 127.0.0.1:",
        "server | Client 54321 identity: {'student_name': 'Jose Ortiz', 'email': 'jose@sfsu.edu', 'sid': 917654321, 'github_username': 'jortiz'}",
        "client | 'Server got the data'",
        "client | skipped a 5018-byte message: larger than the 4096-byte receive buffer (see it with --buffer 5018)",
        "client | server closed the connection",
    ] {
        assert!(text.contains(needle), "demo output lacks {needle:?}:\n{text}");
    }
    for protocol in ["0", "2"] {
        let out = brine(&["demo", "--protocol", protocol, "-q"]);
        assert_eq!(code(&out), 0, "protocol {protocol}: {}", stderr(&out));
        assert!(stdout(&out).contains("client | Assigned client id by server: 54321"));
    }
}
