//! `brine load`: the real binary against the reference server in this process, on
//! 127.0.0.1 only, each run bounded in time.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use brine_server::{Config, Message, Server};

const BRINE: &str = env!("CARGO_BIN_EXE_brine");
/// A run that has not ended by then is killed and the test fails.
const WATCHDOG: Duration = Duration::from_secs(90);

fn server(max_clients: usize, script: Vec<Message>) -> Server {
    // The server's sockets are this process's: 1,000 clients need more than a 1024 soft limit.
    brine_server::raise_open_file_limit().unwrap();
    Server::start(Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        max_clients,
        script,
        ..Config::default()
    })
    .unwrap()
}

/// Runs `brine load ARGS --format json -q`; its exit code and parsed report.
fn load(args: &[&str]) -> (i32, serde_json::Value) {
    let mut child = Command::new(BRINE)
        .arg("load")
        .args(args)
        .args(["--format", "json", "-q"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > WATCHDOG {
            child.kill().unwrap();
            panic!("brine load ran longer than {WATCHDOG:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let report = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap(), report)
}

/// 1,000 clients, all through the handshake, all still connected when the run ends.
#[test]
fn a_thousand_clients_all_complete_the_handshake() {
    let server = server(2000, Vec::new());
    let address = server.local_addr().to_string();
    let (code, report) = load(&[&address, "--clients", "1000", "--duration", "4"]);
    assert_eq!(report["handshakes"], 1000, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(report["held_to_end"], 1000, "{report}");
    // Each got the server's acknowledgement of its identity.
    assert_eq!(report["messages"], 1000, "{report}");
    assert!(report["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    // The rate is reported only over a span long enough to mean something (100 ms): on an
    // idle machine 1,000 loopback handshakes can all finish sooner, and then it is null.
    let span = report["handshake_span_s"].as_f64().unwrap();
    match report["handshakes_per_s"].as_f64() {
        Some(rate) => assert!(span >= 0.1 && rate > 0.0, "{report}"),
        None => assert!(
            span < 0.1 && report["handshakes_per_s"].is_null(),
            "{report}"
        ),
    }
    assert!(report["peak_rss_bytes"].as_u64().unwrap() > 0);
    assert_eq!(code, 0);
    server.shutdown();
}

/// Nothing listens: every client is refused, counted by cause, and the exit status says so.
#[test]
fn refused_clients_are_counted_by_cause() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let (code, report) = load(&[&address, "--clients", "5", "--duration", "2"]);
    assert_eq!(report["handshakes"], 0, "{report}");
    assert_eq!(report["failures"]["refused"], 5, "{report}");
    assert_eq!(code, 1);
}

/// A full server closes the extra connections before any id; a server that closes after the
/// handshake is counted as such.
#[test]
fn a_full_server_and_a_closing_server() {
    let server = server(3, vec![Message::Close]);
    let address = server.local_addr().to_string();
    // Paced one at a time, so the first three are served (and closed) before the next come.
    let (code, report) = load(&[
        &address,
        "--clients",
        "3",
        "--duration",
        "2",
        "--connecting",
        "1",
    ]);
    assert_eq!(report["handshakes"], 3, "{report}");
    assert_eq!(report["closed_by_server"], 3, "{report}");
    assert_eq!(code, 0);
    server.shutdown();

    let server = self::server(2, Vec::new());
    let address = server.local_addr().to_string();
    let (code, report) = load(&[&address, "--clients", "4", "--duration", "2"]);
    assert_eq!(report["handshakes"], 2, "{report}");
    assert_eq!(report["failures"]["closed_before_id"], 2, "{report}");
    assert_eq!(code, 1);
    server.shutdown();
}

/// `brine load` sends the client's identity flags with the client's keys (generated where a
/// flag is not given), and names a close right after the identity as such.
#[test]
fn load_sends_the_clients_identity_and_names_a_close_right_after_it() {
    // No ack, then close: each client hears nothing after its identity.
    let server = Server::start(Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        ack: false,
        script: vec![Message::Close],
        ..Config::default()
    })
    .unwrap();
    let events = server.events();
    let address = server.local_addr().to_string();
    let (code, report) = load(&[
        &address,
        "--clients",
        "2",
        "--duration",
        "2",
        "--connecting",
        "1",
        "--name",
        "Ada",
    ]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["closed_by_server"], 2, "{report}");
    assert_eq!(report["closed_after_identity"], 2, "{report}");
    let mut identities: Vec<String> = events
        .try_iter()
        .filter_map(|e| match e {
            brine_server::ServerEvent::Identity { value, .. } => Some(value),
            _ => None,
        })
        .collect();
    identities.sort();
    assert_eq!(
        identities,
        [
            "{'student_name': 'Ada', 'email': 'load0@example.invalid', 'sid': '000000000', \
             'github_username': 'brine-load-0'}",
            "{'student_name': 'Ada', 'email': 'load1@example.invalid', 'sid': '000000001', \
             'github_username': 'brine-load-1'}",
        ]
    );

    // The text report says why, with the keys sent.
    let out = Command::new(BRINE)
        .args([
            "load",
            &address,
            "-n",
            "1",
            "--duration",
            "1",
            "--keys",
            "handout",
            "-q",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("1 closed by the server (1 right after the identity without a word)"),
        "{text}"
    );
    assert!(
        text.contains(
            "hint         closed right after the identity without a word: the server may \
             expect other keys (sent: 'name', 'email', 'student_id', 'github_username'; see \
             --keys)"
        ),
        "{text}"
    );
    server.shutdown();
}
