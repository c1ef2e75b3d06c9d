//! Issue 11: the real `brine` binary, typed as the README shows it, against servers written
//! the way the course's instructor and students write them (`servers/course_servers.py`),
//! over 127.0.0.1. Each test checks what the student sees (stdout, stderr, exit status) and
//! what the server's console printed.

use std::process::Command;

use brine_e2e::{
    client_id_line, course_server, event_kinds, json_events, run_brine, run_brine_at, spawn_brine,
    Finished, DEADLINE, IDENTITY_ARGS, IDENTITY_REPR, IDENTITY_REPR_HANDOUT,
};
use serde_json::{json, Value};

/// The instructor's console line for [`IDENTITY_ARGS`].
const CONNECTED: &str = "Connected: Student: Jose Ortiz, Github Username: jortiz, sid: 917654321";

/// `brine ADDR <README identity flags> EXTRA...`, started (for servers that never close).
fn spawn_at(addr: &str, extra: &[&str]) -> brine_e2e::Proc {
    let mut args = vec![addr];
    args.extend(IDENTITY_ARGS);
    args.extend(extra);
    spawn_brine(&args)
}

/// `brine ADDR <README identity flags> EXTRA...` against a new course server in `mode`, run to
/// its end; then the server is stopped: (brine, server).
fn run_course(mode: &str, extra: &[&str]) -> (Finished, Finished) {
    let server = course_server(mode);
    let brine = run_brine_at(&server.addr(), extra);
    (brine, server.proc.kill())
}

/// The handout's keys against the instructor's server: a hint after 0.5 s of silence, then
/// the idle timeout (2 s).
const HANDOUT_KEYS_SILENCE: [&str; 6] = [
    "--keys",
    "handout",
    "--hint-after",
    "0.5",
    "--idle-timeout",
    "2",
];

/// The last JSON event, which must say how the run ended.
fn last_event(brine: &Finished) -> Value {
    json_events(brine)
        .pop()
        .unwrap_or_else(|| panic!("no JSON line\n{brine}"))
}

#[test]
fn instructor_server_shows_the_student_on_its_console() {
    let server = course_server("instructor");
    let mut brine = spawn_at(&server.addr(), &[]);
    // The ack is pickle.dumps(1); the threaded server then keeps the connection open.
    brine.wait_line(DEADLINE, |l| l == "1");
    let server = server.proc.kill();
    let brine = brine.wait(DEADLINE);

    brine.assert_code(0);
    assert_eq!(
        brine.stdout,
        [client_id_line("1001"), "1".into()],
        "\n{brine}"
    );
    brine
        .assert_stderr_has(&format!("sent {IDENTITY_REPR}"))
        .assert_stderr_has("server closed the connection");
    assert!(!brine.stderr_has("hint:"), "\n{brine}");
    assert_eq!(server.stdout[1..], [CONNECTED], "\n{server}");
    assert!(server.stderr.is_empty(), "\n{server}");
}

#[test]
fn instructor_server_with_handout_keys_dies_on_a_key_and_brine_hints() {
    let (brine, server) = run_course("instructor", &HANDOUT_KEYS_SILENCE);

    // The handler thread died on KeyError; the socket stays open (the server keeps it).
    brine.assert_code(4);
    assert_eq!(brine.stdout, [client_id_line("1001")], "\n{brine}");
    brine
        .assert_stderr_has(&format!("sent {IDENTITY_REPR_HANDOUT}"))
        .assert_stderr_has(
            "hint: no answer yet, 0.5 s after the identity; still listening (Ctrl-C to stop). \
             A server that never answers may expect other keys (sent: 'name', 'email', \
             'student_id', 'github_username'; see --keys)",
        )
        .assert_stderr_has("error: no message for 2 s (--idle-timeout)");
    assert!(
        server
            .stderr
            .iter()
            .any(|l| l == "KeyError: 'student_name'"),
        "\n{server}"
    );
    assert_eq!(server.stdout.len(), 1, "no Connected line\n{server}");
}

#[test]
fn hint_and_timeout_are_json_events() {
    let json = [&HANDOUT_KEYS_SILENCE[..], &["--format", "json"]].concat();
    let (brine, _) = run_course("instructor", &json);

    brine.assert_code(4);
    let events = json_events(&brine);
    let kinds = event_kinds(&events);
    assert_eq!(
        kinds,
        ["connected", "client_id", "sent", "hint", "error"],
        "\n{brine}"
    );
    assert_eq!(events[3]["kind"], "silent_after_identity");
    assert_eq!(
        events[3]["keys"],
        json!(["name", "email", "student_id", "github_username"])
    );
    assert_eq!(
        events[4],
        json!({"event": "error", "kind": "timeout", "code": 4,
               "message": "no message for 2 s (--idle-timeout)"})
    );
}

#[test]
fn handout_server_prints_the_dict_it_gets() {
    for (extra, repr) in [
        (&[][..], IDENTITY_REPR),
        (&["--keys", "handout"][..], IDENTITY_REPR_HANDOUT),
    ] {
        let (brine, server) = run_course("handout", extra);

        brine.assert_code(0);
        assert_eq!(
            brine.stdout,
            [client_id_line("1001"), "'Server got the data'".into()],
            "\n{brine}"
        );
        assert_eq!(
            server.stdout[1..],
            [format!("Client 1001 sent: {repr}")],
            "\n{server}"
        );
    }
}

#[test]
fn key_renames_reach_the_server() {
    let (brine, server) = run_course(
        "handout",
        &[
            "--key",
            "name=full_name",
            "--key",
            "student-id=id",
            "--field",
            "section:=3",
        ],
    );

    brine.assert_code(0);
    assert_eq!(
        server.stdout[1..],
        [
            "Client 1001 sent: {'full_name': 'Jose Ortiz', 'email': 'jose@sfsu.edu', \
          'id': 917654321, 'github_username': 'jortiz', 'section': 3}"
        ],
        "\n{server}"
    );
}

/// `--field KEY:=JSON` reads JSON as Python's `json.loads` does (issue 12 point 8): NaN,
/// -Infinity, a lone surrogate escape and a 200-digit integer reach a CPython server as the
/// very objects `json.loads` makes of them.
#[test]
fn json_fields_reach_the_server_as_json_loads_reads_them() {
    let big = format!("-{}", "1234567890".repeat(20));
    let fields = [
        "x:=NaN".to_owned(),
        r#"y:="\ud800""#.to_owned(),
        format!("z:={big}"),
        "w:=[-Infinity, 1e999, {\"k\": \"\\udc80\"}]".to_owned(),
    ];
    let mut extra = vec![];
    for field in &fields {
        extra.extend(["--field", field.as_str()]);
    }
    // CPython: the identity flags' dict with each field json.loads'ed into it.
    let want = Command::new("python3")
        .args([
            "-c",
            "import ast, json, sys\n\
             d = ast.literal_eval(sys.argv[1])\n\
             for f in sys.argv[2:]:\n    k, v = f.split(':=', 1); d[k] = json.loads(v)\n\
             print(f'Client 1001 sent: {d}')",
            IDENTITY_REPR,
        ])
        .args(&fields)
        .output()
        .expect("python3 (the oracle) must be installed");
    assert!(want.status.success(), "{want:?}");
    let want = String::from_utf8(want.stdout).unwrap();
    assert!(
        want.contains("'x': nan") && want.contains("\\ud800"),
        "{want}"
    );

    for protocol in ["0", "2", "auto"] {
        let (brine, server) =
            run_course("handout", &[&extra[..], &["--protocol", protocol]].concat());

        brine.assert_code(0);
        assert_eq!(
            server.stdout[1..],
            [want.trim_end()],
            "protocol {protocol}\n{server}"
        );
    }
}

#[test]
fn nested_client_id_is_printed_as_python_prints_it() {
    let (brine, server) = run_course("nested-id", &[]);
    let (json, _) = run_course("nested-id", &["--format", "json"]);

    brine.assert_code(0);
    assert_eq!(
        brine.stdout,
        [
            client_id_line("{'clientid': 1001}"),
            "'Server got the data'".into()
        ],
        "\n{brine}"
    );
    assert_eq!(
        server.stdout[1..],
        [format!("Client 1001 sent: {IDENTITY_REPR}")]
    );
    json.assert_code(0);
    assert_eq!(
        json_events(&json)[1],
        json!({"event": "client_id", "value": {"clientid": 1001}})
    );
}

#[test]
fn bare_int_id_is_taken_with_a_note() {
    let (brine, server) = run_course("int-id", &[]);
    let (json, _) = run_course("int-id", &["--format", "json"]);

    brine.assert_code(0).assert_stderr_has(
        "note: the server's first message is a bare int, not {'clientid': id}: taken as the client id",
    );
    assert_eq!(
        brine.stdout,
        [client_id_line("1001"), "'Server got the data'".into()],
        "\n{brine}"
    );
    assert_eq!(
        server.stdout[1..],
        [format!("Client 1001 sent: {IDENTITY_REPR}")]
    );
    json.assert_code(0);
    let events = json_events(&json);
    assert_eq!(
        events[1],
        json!({"event": "client_id", "value": 1001, "bare": true})
    );
    assert_eq!(events[2]["event"], "note");
    assert_eq!(events[2]["kind"], "bare_client_id");
}

#[test]
fn a_first_message_that_is_no_id_is_shown() {
    let server = course_server("wrong-key");
    let brine = run_brine_at(&server.addr(), &[]);
    drop(server);
    let (json, _) = run_course("wrong-key", &["--format", "json"]);

    let message = "the server's first message is not a client id: got {'client_id': 1001} \
                   (a dict); a lab server sends {'clientid': id} first (or a bare int or str)";
    brine
        .assert_code(5)
        .assert_stderr_has(&format!("error: protocol error: {message}"));
    assert!(brine.stdout.is_empty(), "\n{brine}");
    json.assert_code(5);
    assert_eq!(
        last_event(&json),
        json!({"event": "error", "kind": "protocol", "code": 5,
               "message": format!("protocol error: {message}")})
    );
}

#[test]
fn python2_server_gets_protocol_2_byte_strings_by_default() {
    let (brine, server) = run_course("py2", &[]);

    brine.assert_code(0).assert_stderr_has(&format!(
        "sent {IDENTITY_REPR} (pickle protocol 2, strs as Python 2 byte strings)"
    ));
    assert_eq!(
        brine.stdout,
        [client_id_line("1001"), "'Server got the data'".into()],
        "\n{brine}"
    );
    // Python 2's console: byte strings ('...'), not unicode (u'...').
    assert_eq!(
        server.stdout[1..],
        [format!("Received: {IDENTITY_REPR}"), CONNECTED.into()],
        "\n{server}"
    );
}

#[test]
fn python2_server_refuses_protocol_4_and_brine_hints_at_auto() {
    let server = course_server("py2");
    let brine = run_brine_at(&server.addr(), &["--protocol", "4"]);
    let json_server = course_server("py2");
    let json = run_brine_at(
        &json_server.addr(),
        &["--protocol", "4", "--format", "json"],
    );
    let server = server.proc.kill();
    drop(json_server);

    // Closed right after the identity: exit 7, with the hint.
    brine.assert_code(7).assert_stderr_has(
        "hint: the server closed the connection right after the identity without sending \
         anything (keys sent: 'student_name', 'email', 'sid', 'github_username'): this server \
         writes Python 2 pickles, which cannot load protocol 3 or later: try --protocol auto",
    );
    assert_eq!(brine.stdout, [client_id_line("1001")], "\n{brine}");
    assert_eq!(
        server.stdout[1..],
        [
            "ValueError: unsupported pickle protocol: 4",
            "Could not connect to client"
        ],
        "\n{server}"
    );
    json.assert_code(7);
    let events = json_events(&json);
    let kinds = event_kinds(&events);
    assert_eq!(
        kinds,
        ["connected", "client_id", "sent", "hint", "closed", "error"]
    );
    assert_eq!(events[3]["kind"], "closed_after_identity");
    assert_eq!(events[5]["kind"], "closed_after_identity");
    assert_eq!(events[5]["code"], 7);
}

#[test]
fn python2_server_with_unicode_keys_fails_on_the_key() {
    // --protocol 2 is CPython 3's protocol 2: unicode keys, which this Python 2 server misses.
    let (brine, server) = run_course("py2", &["--protocol", "2"]);

    brine
        .assert_code(7)
        .assert_stderr_has("hint: the server closed");
    assert_eq!(
        server.stdout[1..],
        [
            "Received: {u'student_name': u'Jose Ortiz', u'email': u'jose@sfsu.edu', \
             u'sid': 917654321, u'github_username': u'jortiz'}",
            "KeyError: b'student_name'",
            "Could not connect to client"
        ],
        "\n{server}"
    );
}

#[test]
fn one_client_server_serves_one_and_the_next_times_out() {
    let server = course_server("one-client");
    let mut first = spawn_at(&server.addr(), &[]);
    first.wait_line(DEADLINE, |l| l == "'Server got the data'");
    let second = run_brine_at(&server.addr(), &["--timeout", "1", "--format", "json"]);
    let first = first.kill();
    let server = server.proc.kill();

    assert_eq!(
        first.stdout,
        [client_id_line("1"), "'Server got the data'".into()],
        "\n{first}"
    );
    second.assert_code(4);
    assert_eq!(
        last_event(&second),
        json!({"event": "error", "kind": "timeout", "code": 4,
               "message": "timed out after 1 s waiting for the client id"})
    );
    assert_eq!(
        server.stdout[1..],
        [format!("Client 1 sent: {IDENTITY_REPR}")],
        "\n{server}"
    );
}

#[test]
fn ctrl_c_prints_what_arrived_and_exits_130() {
    for format in ["text", "json"] {
        let server = course_server("instructor");
        let mut brine = spawn_at(&server.addr(), &["--format", format]);
        brine.wait_line(DEADLINE, |l| l == "1" || l.contains(r#""value":1}"#));
        let status = Command::new("kill")
            .args(["-INT", &brine.id().to_string()])
            .status()
            .expect("kill -INT");
        assert!(status.success());
        let brine = brine.wait(DEADLINE);
        let server = server.proc.kill();

        brine
            .assert_code(130)
            .assert_stderr_has("error: interrupted (Ctrl-C)");
        if format == "text" {
            assert_eq!(brine.stdout, [client_id_line("1001"), "1".into()]);
        } else {
            let events = json_events(&brine);
            assert_eq!(events[3], json!({"event": "message", "value": 1}));
            assert_eq!(
                events[4],
                json!({"event": "error", "kind": "interrupted", "code": 130,
                       "message": "interrupted (Ctrl-C)"})
            );
        }
        assert_eq!(server.stdout[1..], [CONNECTED], "\n{server}");
    }
}

#[test]
fn json_errors_before_a_session_are_events() {
    // Refused: nothing listens on port 1.
    let refused = run_brine(&["127.0.0.1:1", "--format", "json"]);
    refused.assert_code(3);
    let event = last_event(&refused);
    assert_eq!(
        (event["event"].as_str(), event["kind"].as_str()),
        (Some("error"), Some("connect"))
    );
    // A usage error that clap reports.
    let usage = run_brine(&["127.0.0.1:1", "--format", "json", "--key", "nick=x"]);
    usage.assert_code(2);
    let event = last_event(&usage);
    assert_eq!(
        (event["kind"].as_str(), event["code"].as_i64()),
        (Some("usage"), Some(2))
    );
    assert!(usage.stderr_has("unknown flag 'nick'"), "\n{usage}");
}

#[test]
fn load_reports_a_one_at_a_time_server_without_a_rate() {
    let server = course_server("one-client");
    let addr = server.addr();
    let args = [
        "load",
        addr.as_str(),
        "--clients",
        "5",
        "--duration",
        "2",
        "--timeout",
        "1",
    ];
    let text = run_brine(&[&args[..], &["-q"]].concat());
    let server = server.proc.kill();

    text.assert_code(1);
    assert!(
        text.stdout
            .iter()
            .any(|l| l.starts_with("handshakes   1 of 5 in ")
                && l.ends_with(": too few or too quick for a rate")),
        "\n{text}"
    );
    assert!(
        text.stdout.iter().any(|l| l
            == "server       serves one client at a time: it completed 1 handshake while the \
                other clients waited for their id until --timeout"),
        "\n{text}"
    );
    assert!(
        text.stdout
            .iter()
            .any(|l| l == "failures     handshake_timeout 4"),
        "\n{text}"
    );
    // The server's console: one client served, no other.
    let served: Vec<_> = server
        .stdout
        .iter()
        .filter(|l| l.starts_with("Client "))
        .collect();
    assert_eq!(served.len(), 1, "\n{server}");
    assert!(served[0].starts_with("Client 1 sent: {"), "\n{server}");
}
