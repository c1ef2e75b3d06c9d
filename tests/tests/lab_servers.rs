//! The real `brine` binary against the CPython lab servers (`servers/lab_server.py`), one
//! test per server mode, over 127.0.0.1. Each checks what brine printed, its exit code and
//! what the server saw (its `SENT`/`IDENTITY`/`CLOSED` lines and exit status).

use std::time::Duration;

use brine_e2e::{
    assert_lab_server_ok, client_id_line, event_kinds, identities, json_events, lab_server,
    run_brine_at, scratch_dir, sent, Finished, IDENTITY_REPR,
};
use serde_json::{json, Value};

/// What brine prints on stdout for the classic server's exchange.
const CLASSIC_STDOUT: [&str; 4] = [
    "Assigned client id by server: 54321",
    "'Server got the data'",
    "{'course': 'CSC 645', 'lab': 2, 'scores': [98, 87.5], 'passed': True, 'notes': None}",
    "['alpha', 2, 3.5, None]",
];

/// brine's stdout in text format: the id line, then one repr per message, which must be the
/// server's `SENT` lines after the first (the id) — the same objects in the same order.
fn assert_messages_are_sent(brine: &Finished, server: &Finished, id: &str) {
    let sent = sent(server);
    assert_eq!(
        sent.first().copied(),
        Some(format!("{{'clientid': {id}}}").as_str()),
        "{server}"
    );
    let mut expected = vec![client_id_line(id)];
    expected.extend(sent[1..].iter().map(|s| s.to_string()));
    assert_eq!(brine.stdout, expected, "\n{brine}\n{server}");
}

/// The server received exactly one identity, the one brine said it sent.
fn assert_identity_received(brine: &Finished, server: &Finished) {
    assert_eq!(identities(server), [IDENTITY_REPR], "\n{brine}\n{server}");
    brine.assert_stderr_has(&format!("sent {IDENTITY_REPR}"));
}

#[test]
fn classic() {
    let server = lab_server("classic", &[]);
    let brine = run_brine_at(&server.addr(), &[]);
    let server = server.wait();

    brine.assert_code(0);
    assert_eq!(brine.stdout, CLASSIC_STDOUT, "\n{brine}");
    assert_messages_are_sent(&brine, &server, "54321");
    assert_eq!(
        brine.stderr.last().map(String::as_str),
        Some("server closed the connection"),
        "\n{brine}"
    );
    assert_identity_received(&brine, &server);
    assert_lab_server_ok(&server);
}

#[test]
fn bytewise_is_reassembled() {
    let server = lab_server("bytewise", &[]);
    let brine = run_brine_at(&server.addr(), &[]);
    let server = server.wait();

    brine.assert_code(0);
    // One byte per send(), 1 ms apart: brine prints exactly what it prints for classic.
    assert_eq!(brine.stdout, CLASSIC_STDOUT, "\n{brine}");
    assert_messages_are_sent(&brine, &server, "54321");
    assert_identity_received(&brine, &server);
    assert_lab_server_ok(&server);
}

#[test]
fn burst_messages_in_the_id_write_are_delivered() {
    let server = lab_server("burst", &[]);
    let brine = run_brine_at(&server.addr(), &[]);
    let server = server.wait();

    brine.assert_code(0);
    assert_eq!(
        brine.stdout,
        [
            "Assigned client id by server: 54321",
            "'Server got the data'",
            "'second in the burst'",
            "{'n': 3}",
        ],
        "\n{brine}"
    );
    assert_messages_are_sent(&brine, &server, "54321");
    // All four pickles left in one send(), before the server read anything.
    let sent_before_identity = server
        .stdout
        .iter()
        .take_while(|l| !l.starts_with("IDENTITY "))
        .filter(|l| l.starts_with("SENT "))
        .count();
    assert_eq!(sent_before_identity, 4, "\n{server}");
    assert_identity_received(&brine, &server);
    assert_lab_server_ok(&server);
}

#[test]
fn close_before_id_is_a_protocol_error() {
    let server = lab_server("close-before-id", &[]);
    let brine = run_brine_at(&server.addr(), &[]);
    let server = server.wait();

    brine.assert_code(5).assert_stderr_has(
        "error: protocol error: the server closed the connection before sending a client id",
    );
    assert!(brine.stdout.is_empty(), "\n{brine}");
    assert!(
        !brine.stderr_has("sent {"),
        "no identity without an id\n{brine}"
    );
    assert!(identities(&server).is_empty(), "\n{server}");
    assert_eq!(server.stdout[1..], ["CLOSED"], "\n{server}");
    assert_eq!(server.code(), Some(0), "\n{server}");
}

#[test]
fn silent_server_times_out_waiting_for_the_id() {
    let server = lab_server("silent", &["--silent-secs", "10"]);
    let brine = run_brine_at(&server.addr(), &["--timeout", "1"]);
    let server = server.wait();

    brine
        .assert_code(4)
        .assert_stderr_has("timed out after 1 s waiting for the client id");
    assert!(
        brine.elapsed >= Duration::from_millis(900) && brine.elapsed < Duration::from_millis(2500),
        "brine gave up after {:?}, not about 1 s\n{brine}",
        brine.elapsed
    );
    assert!(brine.stdout.is_empty(), "\n{brine}");
    assert!(!brine.stderr_has("sent {"), "\n{brine}");
    // The server saw the client go away (it did not wait its 10 silent seconds).
    assert!(identities(&server).is_empty(), "\n{server}");
    assert_eq!(server.stdout[1..], ["CLOSED"], "\n{server}");
    assert_eq!(server.code(), Some(0), "\n{server}");
}

#[test]
fn big_message_is_skipped_with_its_size() {
    let server = lab_server("big", &[]);
    let brine = run_brine_at(&server.addr(), &["--format", "json"]);
    let server = server.wait();

    brine.assert_code(0);
    let events = json_events(&brine);
    // JSON puts the skip in order between the messages around it.
    assert_eq!(
        events[1..],
        [
            json!({"event": "client_id", "value": 54321}),
            json!({"event": "sent", "value": {
                "student_name": "Jose Ortiz", "email": "jose@sfsu.edu",
                "sid": 917654321, "github_username": "jortiz"}, "protocol": 4}),
            json!({"event": "message", "value": "small before"}),
            // pickle.dumps('x' * 10000, 4): 10,018 bytes.
            json!({"event": "skipped", "bytes": 10018,
                   "reason": "larger than the 4096-byte receive buffer"}),
            json!({"event": "message", "value": "small after"}),
            json!({"event": "closed"}),
        ],
        "\n{brine}"
    );
    let sent = sent(&server);
    assert_eq!(sent.len(), 4, "\n{server}");
    assert_eq!(sent[2], format!("'{}'", "x".repeat(10000)));
    assert_eq!(identities(&server), [IDENTITY_REPR], "\n{server}");
    assert_lab_server_ok(&server);
}

#[test]
fn big_message_in_text_format() {
    let server = lab_server("big", &[]);
    let brine = run_brine_at(&server.addr(), &[]);
    let server = server.wait();

    brine.assert_code(0).assert_stderr_has(
        "skipped a 10018-byte message: larger than the 4096-byte receive buffer (see it with \
         --buffer 10018)",
    );
    assert_eq!(
        brine.stdout,
        [
            "Assigned client id by server: 54321",
            "'small before'",
            "'small after'"
        ],
        "\n{brine}"
    );
    assert_identity_received(&brine, &server);
    assert_lab_server_ok(&server);
}

#[test]
fn evil_pickle_is_skipped_and_nothing_runs() {
    let dir = scratch_dir("evil");
    let marker = dir.join("pwned");
    let command = format!("touch {}", marker.display());

    // The control: CPython's own pickle.loads of these very bytes does create the marker, so
    // its absence below means brine ran nothing, not that the command could not work.
    let control = dir.join("control");
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import pickle, sys; sys.path.insert(0, sys.argv[1]); import lab_server; \
             pickle.loads(lab_server.evil_pickle(sys.argv[2]))",
        )
        .arg(brine_e2e::lab_server_script().parent().unwrap())
        .arg(format!("touch {}", control.display()))
        .status()
        .expect("python3 is required");
    assert!(
        status.success() && control.exists(),
        "the control did not run"
    );

    let server = lab_server("evil", &["--evil-command", &command]);
    let brine = run_brine_at(&server.addr(), &["--format", "json", "--refuse-objects"]);
    let server = server.wait();

    brine.assert_code(0);
    let events = json_events(&brine);
    let kinds = event_kinds(&events);
    assert_eq!(
        kinds,
        [
            "connected",
            "client_id",
            "sent",
            "skipped",
            "message",
            "closed"
        ],
        "\n{brine}"
    );
    let skipped = &events[3];
    let reason = skipped["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("GLOBAL of os.system"),
        "the reason does not name GLOBAL os.system: {reason:?}\n{brine}"
    );
    // 2 (PROTO) + 11 (GLOBAL) + 5 + command (BINUNICODE) + 3 (TUPLE1, REDUCE, STOP).
    let expected_len = 21 + command.len() as u64;
    assert_eq!(skipped["bytes"], json!(expected_len), "\n{brine}");
    assert_eq!(events[4]["value"], Value::from("after the evil pickle"));
    assert_eq!(
        sent(&server)[1],
        format!(
            "<code-running pickle: os.system({})>",
            py_str_repr(&command)
        )
    );
    assert_eq!(identities(&server), [IDENTITY_REPR], "\n{server}");
    assert_lab_server_ok(&server);

    assert!(
        !marker.exists(),
        "{} exists: the evil pickle's command ran",
        marker.display()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn evil_pickle_in_text_format() {
    let server = lab_server("evil", &[]);
    let brine = run_brine_at(&server.addr(), &["--refuse-objects"]);
    let server = server.wait();

    brine.assert_code(0).assert_stderr_has(
        "skipped a 31-byte message: refused GLOBAL of os.system at byte 2: \
         pickles that import or call code are not decoded",
    );
    assert_eq!(
        brine.stdout,
        [
            "Assigned client id by server: 54321",
            "'after the evil pickle'"
        ],
        "\n{brine}"
    );
    assert_identity_received(&brine, &server);
    assert_lab_server_ok(&server);
}

/// By default the evil pickle is shown as an inert stub of the call it names, in text and
/// JSON, with the note on stderr; its command never runs.
#[test]
fn evil_pickle_is_shown_as_a_stub_and_nothing_runs() {
    let dir = scratch_dir("evil-stub");
    let marker = dir.join("pwned");
    let command = format!("touch {}", marker.display());
    for json in [false, true] {
        let server = lab_server("evil", &["--evil-command", &command]);
        let args: &[&str] = if json { &["--format", "json"] } else { &[] };
        let brine = run_brine_at(&server.addr(), args);
        let server = server.wait();
        brine.assert_code(0).assert_stderr_has(
            "note: objects of classes brine does not know are shown as inert stubs; \
             nothing is imported or run",
        );
        if json {
            let events = json_events(&brine);
            let stub = events
                .iter()
                .find(|e| e["event"] == "message" && e["value"].get("$call").is_some())
                .unwrap_or_else(|| panic!("no stub message\n{brine}"));
            assert_eq!(stub["value"]["$call"], "os.system", "\n{brine}");
            assert_eq!(stub["value"]["args"], json!([command]), "\n{brine}");
        } else {
            assert_eq!(
                brine.stdout,
                [
                    "Assigned client id by server: 54321".to_string(),
                    format!("<os.system({})>", py_str_repr(&command)),
                    "'after the evil pickle'".to_string(),
                ],
                "\n{brine}"
            );
        }
        assert_lab_server_ok(&server);
        assert!(
            !marker.exists(),
            "{} exists: the command ran",
            marker.display()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn py2_byte_strings_decode_as_str() {
    let server = lab_server("py2", &[]);
    let brine = run_brine_at(&server.addr(), &["--protocol", "2"]);
    let server = server.wait();

    brine.assert_code(0);
    // SHORT_BINSTRING / BINSTRING keys and values print as str, as Python 3 loads them.
    assert_eq!(
        brine.stdout,
        [
            "Assigned client id by server: 54321".to_string(),
            "'Server got the data'".to_string(),
            "{'msg': 'hello from Python 2', 'count': 3}".to_string(),
            format!("'{}'", "z".repeat(300)),
        ],
        "\n{brine}"
    );
    assert_messages_are_sent(&brine, &server, "54321");
    // The server loads the protocol-2 identity with encoding='bytes'.
    assert_identity_received(&brine, &server);
    assert_lab_server_ok(&server);
}

#[test]
fn str_id_is_printed_as_the_str() {
    // Two clients, one after the other: text, then JSON.
    let server = lab_server("str-id", &["--clients", "2"]);
    let text = run_brine_at(&server.addr(), &[]);
    let json = run_brine_at(&server.addr(), &["--format", "json"]);
    let server = server.wait();

    text.assert_code(0);
    assert_eq!(
        text.stdout,
        [
            "Assigned client id by server: abc-123",
            "'Server got the data'"
        ],
        "\n{text}"
    );
    json.assert_code(0);
    let events = json_events(&json);
    assert_eq!(
        events[1],
        json!({"event": "client_id", "value": "abc-123"}),
        "\n{json}"
    );
    assert_eq!(
        events[3],
        json!({"event": "message", "value": "Server got the data"})
    );
    assert_eq!(
        identities(&server),
        [IDENTITY_REPR, IDENTITY_REPR],
        "\n{server}"
    );
    assert_eq!(server.code(), Some(0), "\n{server}");
}

/// brine's identity in every protocol, against the classic server speaking the same
/// protocol: the server prints the identity each time, brine prints every message.
#[test]
fn classic_in_every_protocol() {
    // One thread per protocol: the runs are independent, and CPython's start-up dominates.
    std::thread::scope(|scope| {
        for protocol in 0..=5 {
            scope.spawn(move || {
                let p = protocol.to_string();
                let server = lab_server("classic", &["--protocol", &p]);
                let brine = run_brine_at(&server.addr(), &["--protocol", &p]);
                let server = server.wait();

                brine.assert_code(0);
                assert_eq!(brine.stdout, CLASSIC_STDOUT, "protocol {p}\n{brine}");
                assert_messages_are_sent(&brine, &server, "54321");
                assert_identity_received(&brine, &server);
                assert_lab_server_ok(&server);
            });
        }
    });
}

/// Python's repr of a str without quotes, backslashes or control characters in it.
fn py_str_repr(text: &str) -> String {
    assert!(!text.contains(|c: char| c == '\'' || c == '\\' || c.is_control()));
    format!("'{text}'")
}
