//! The real `brine` binary against the real `brine-server` binary, over 127.0.0.1.

use std::io::Write;
use std::time::Duration;

use brine_e2e::{
    brine_server, event_kinds, json_events, run_brine_at, spawn_brine, Finished, DEADLINE,
    IDENTITY_REPR,
};
use serde_json::{json, Value};

/// How long a server may take to print a line about something that already happened.
const SOON: Duration = Duration::from_secs(10);

/// The server's stderr carries its errors ("brine-server: ..."): there must be none.
fn assert_no_server_errors(server: &Finished) {
    assert!(server.stderr.is_empty(), "server errors\n{server}");
}

#[test]
fn handshake_script_and_close_after() {
    let mut server = brine_server(&[
        "--first-id",
        "54321",
        "--send",
        "welcome",
        "--send-json",
        r#"{"lab": 2, "scores": [98, 87.5], "passed": true, "notes": null}"#,
        "--send-json",
        r#"[1, "two", 3.5]"#,
        "--send",
        "bye",
        "--close-after",
    ]);
    let brine = run_brine_at(&server.addr(), &[]);

    brine.assert_code(0);
    assert_eq!(
        brine.stdout,
        [
            "Assigned client id by server: 54321",
            "'Server got the data'",
            "'welcome'",
            "{'lab': 2, 'scores': [98, 87.5], 'passed': True, 'notes': None}",
            "[1, 'two', 3.5]",
            "'bye'",
        ],
        "\n{brine}"
    );
    brine.assert_stderr_has(&format!("sent {IDENTITY_REPR}"));
    assert_eq!(
        brine.stderr.last().map(String::as_str),
        Some("server closed the connection"),
        "\n{brine}"
    );

    let identity = format!("Client 54321 identity: {IDENTITY_REPR}");
    server.proc.wait_line(SOON, |l| l == identity);
    server.proc.wait_line(SOON, |l| {
        l == "Client 54321 disconnected: closed by the server's script"
    });
    let server = server.proc.kill();
    assert_eq!(
        server
            .stdout
            .iter()
            .filter(|l| l.contains("identity:"))
            .count(),
        1,
        "\n{server}"
    );
    assert_no_server_errors(&server);
}

#[test]
fn two_clients_at_once_get_different_ids() {
    let mut server = brine_server(&[]);
    let addr = server.addr();
    let mut a = spawn_brine(&[&addr, "--name", "Client A"]);
    let mut b = spawn_brine(&[&addr, "--name", "Client B"]);

    // Both identified, neither closed (no --close-after): both are connected at once.
    let mut seen = [
        server.proc.wait_line(SOON, |l| l.contains(" identity: ")),
        server.proc.wait_line(SOON, |l| l.contains(" identity: ")),
    ];
    seen.sort();
    // A broadcast reaches both, which proves it.
    writeln!(server.proc.stdin(), "to everyone").unwrap();
    server
        .proc
        .wait_line(SOON, |l| l == "Broadcast 'to everyone' to 2 clients");
    a.wait_line(SOON, |l| l == "'to everyone'");
    b.wait_line(SOON, |l| l == "'to everyone'");

    // Killing the server closes both connections: each client ends in order.
    let server = server.proc.kill();
    let (a, b) = (a.wait(DEADLINE), b.wait(DEADLINE));
    let id = |brine: &Finished| -> String {
        brine.assert_code(0);
        brine.assert_stderr_has("server closed the connection");
        assert_eq!(brine.stdout.len(), 3, "\n{brine}");
        assert_eq!(
            brine.stdout[1..],
            ["'Server got the data'", "'to everyone'"]
        );
        brine.stdout[0]
            .strip_prefix("Assigned client id by server: ")
            .unwrap_or_else(|| panic!("no id line\n{brine}"))
            .to_owned()
    };
    let (id_a, id_b) = (id(&a), id(&b));
    assert_ne!(id_a, id_b);
    let mut expected = [
        format!("Client {id_a} identity: {{'student_name': 'Client A'}}"),
        format!("Client {id_b} identity: {{'student_name': 'Client B'}}"),
    ];
    expected.sort();
    assert_eq!(seen, expected, "\n{server}");
    let mut ids = [id_a, id_b];
    ids.sort();
    assert_eq!(ids, ["1000", "1001"], "ids from --first-id's default");
    assert_no_server_errors(&server);
}

#[test]
fn json_events_have_the_documented_shapes() {
    let big = "x".repeat(5000);
    let mut server = brine_server(&[
        "--send-json",
        r#"{"lab": 2, "scores": [98, 87.5], "passed": true, "notes": null, "n": 1267650600228229401496703205376}"#,
        "--send",
        &big,
        "--send-json",
        r#"[1, "two", 3.5, false, {}]"#,
        "--close-after",
    ]);
    let brine = run_brine_at(&server.addr(), &["--format", "json"]);
    brine.assert_code(0);
    // Nothing but JSON objects on stdout, each with a str "event".
    let events = json_events(&brine);

    let shape = |event: &Value| -> Vec<String> {
        let mut keys: Vec<String> = event.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    let kinds = event_kinds(&events);
    assert_eq!(
        kinds,
        [
            "connected",
            "client_id",
            "sent",
            "message",
            "message",
            "skipped",
            "message",
            "closed"
        ],
        "\n{brine}"
    );
    for event in &events {
        let expected: &[&str] = match event["event"].as_str().unwrap() {
            "connected" => &["event", "peer"],
            "client_id" | "message" => &["event", "value"],
            "sent" => &["event", "protocol", "value"],
            "skipped" => &["bytes", "event", "reason"],
            "closed" => &["event"],
            other => panic!("undocumented event {other:?}\n{brine}"),
        };
        assert_eq!(shape(event), expected, "{event}");
    }

    assert_eq!(events[0]["peer"], Value::from(server.addr()));
    assert_eq!(events[1]["value"], json!(1000));
    // The identity, keys in the order sent.
    let sent = events[2]["value"].as_object().expect("an object");
    assert_eq!(
        sent.keys().collect::<Vec<_>>(),
        ["student_name", "email", "sid", "github_username"]
    );
    assert_eq!(
        events[2]["value"],
        json!({"student_name": "Jose Ortiz", "email": "jose@sfsu.edu",
               "sid": 917654321, "github_username": "jortiz"})
    );
    assert_eq!(events[3]["value"], json!("Server got the data"));
    // Key order kept, Python's True/None as JSON's true/null, 2**100 exact.
    let message = events[4]["value"].as_object().expect("an object");
    assert_eq!(
        message.keys().collect::<Vec<_>>(),
        ["lab", "scores", "passed", "notes", "n"]
    );
    let two_to_the_100: Value = serde_json::from_str("1267650600228229401496703205376").unwrap();
    assert_eq!(
        events[4]["value"],
        json!({"lab": 2, "scores": [98, 87.5], "passed": true, "notes": null,
               "n": two_to_the_100})
    );
    assert!(brine.stdout[4].contains(r#""n":1267650600228229401496703205376"#));
    // pickle.dumps('x' * 5000, 4): 5,018 bytes, over the 4096-byte receive buffer.
    assert_eq!(
        events[5],
        json!({"event": "skipped", "bytes": 5018,
               "reason": "larger than the 4096-byte receive buffer"})
    );
    assert_eq!(events[6]["value"], json!([1, "two", 3.5, false, {}]));

    let identity = format!("Client 1000 identity: {IDENTITY_REPR}");
    server.proc.wait_line(SOON, |l| l == identity);
    let server = server.proc.kill();
    assert_no_server_errors(&server);
}
