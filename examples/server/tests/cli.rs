//! The `brine-server` binary: its output lines, broadcasting from stdin, and a taken port.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use brine_core::pickle::{Decoder, Framer, Progress, Protocol};
use brine_server::{Config, Message, Server};

const BIN: &str = env!("CARGO_BIN_EXE_brine-server");
const WAIT: Duration = Duration::from_secs(10);

/// The running binary, its stdout lines, and the port it printed. Killed on drop.
struct Running {
    child: Child,
    lines: Receiver<String>,
    addr: SocketAddr,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = Command::new(BIN)
            .arg("127.0.0.1:0")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run brine-server");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines.recv_timeout(WAIT).expect("the listening line");
        let rest = first
            .strip_prefix("Listening on ")
            .unwrap_or_else(|| panic!("{first}"));
        let addr = rest.split(' ').next().unwrap().parse().unwrap();
        Running { child, lines, addr }
    }

    fn line(&self) -> String {
        self.lines.recv_timeout(WAIT).expect("a line of output")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Connects, reads the id, sends an identity, and returns every later pickle's repr until EOF
/// (or until `count` were read).
fn lab_client(addr: SocketAddr, count: usize) -> (TcpStream, Vec<String>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut received = Vec::new();
    let mut framer = Framer::new();
    let mut buf = Vec::new();
    let mut sent = false;
    loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut start = 0;
        while start < buf.len() {
            match framer.advance(&buf[start..]).unwrap() {
                Progress::Complete { len } => {
                    let mut decoder: Box<Decoder> = Box::default();
                    let value = decoder.decode(&buf[start..start + len]).unwrap();
                    received.push(value.to_string());
                    start += len;
                }
                Progress::Incomplete => break,
            }
        }
        buf.drain(..start);
        if !sent {
            let identity =
                Message::Json(serde_json::json!({"name": "Ada", "github_username": "ada"}));
            stream
                .write_all(&identity.to_pickle(Protocol::V4).unwrap().unwrap())
                .unwrap();
            sent = true;
        }
        if received.len() >= count {
            break;
        }
    }
    (stream, received)
}

#[test]
fn prints_the_lab_servers_lines_and_runs_the_script() {
    let server = Running::start(&[
        "--first-id",
        "54321",
        "--send",
        "hi",
        "--send-json",
        "[1, {\"a\": null}]",
        "--send-json",
        r#"[NaN, -Infinity, "\ud800", 1606938044258990275541962092341162602522202993782792835301376]"#,
        "--send",
        "bye",
        "--close-after",
    ]);
    let (_stream, received) = lab_client(server.addr, usize::MAX);
    assert_eq!(
        received,
        [
            "{'clientid': 54321}",
            "'Server got the data'",
            "'hi'",
            "[1, {'a': None}]",
            r"[nan, -inf, '\ud800', 1606938044258990275541962092341162602522202993782792835301376]",
            "'bye'"
        ]
    );
    assert!(server
        .line()
        .starts_with("Client 54321 connected from 127.0.0.1:"));
    assert_eq!(
        server.line(),
        "Client 54321 identity: {'name': 'Ada', 'github_username': 'ada'}"
    );
    assert_eq!(
        server.line(),
        "Client 54321 disconnected: closed by the server's script"
    );
}

#[test]
fn a_line_on_stdin_is_broadcast() {
    let mut server = Running::start(&["--protocol", "2", "--no-ack"]);
    let addr = server.addr;
    // The client thread hands back its stream too: it stays open until the broadcast line
    // was read (a client that closed at once could be reported before the broadcast line).
    let client = std::thread::spawn(move || lab_client(addr, 2));
    assert!(server.line().contains("connected from"));
    assert!(server.line().contains("identity: {'name': 'Ada'"));
    let stdin = server.child.stdin.as_mut().unwrap();
    stdin.write_all(b"hello class\n").unwrap();
    stdin.flush().unwrap();
    assert_eq!(server.line(), "Broadcast 'hello class' to 1 client");
    let (_stream, received) = client.join().unwrap();
    assert_eq!(received, ["{'clientid': 1000}", "'hello class'"]);
}

#[test]
fn a_taken_port_is_a_clear_error_and_exit_code_1() {
    let taken = Server::start(Config {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::default()
    })
    .unwrap();
    let addr = taken.local_addr().to_string();
    let output = Command::new(BIN).arg(&addr).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("brine-server: address {addr} is already in use: is another server running?\n")
    );
    taken.shutdown();
}

#[test]
fn help_explains_the_flags() {
    let output = Command::new(BIN).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--protocol",
        "--first-id",
        "--send <TEXT>",
        "--send-json <JSON>",
        "--close-after",
        "--no-ack",
        "--idle-timeout <SECS>",
        "--max-clients <N>",
        "--quiet",
        "--web <ADDR>",
        "--record <FILE>",
        "Server got the data",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
    let bad = Command::new(BIN)
        .args(["--protocol", "6"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn web_and_record_setup_errors_are_clear_and_exit_code_1() {
    let output = Command::new(BIN)
        .args(["127.0.0.1:0", "--record", "/nonexistent-dir/attendance.csv"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(
            "brine-server: cannot open the record /nonexistent-dir/attendance.csv: No such file"
        ),
        "{stderr}"
    );

    let taken = Server::start(Config {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::default()
    })
    .unwrap();
    let web = taken.local_addr().to_string();
    let output = Command::new(BIN)
        .args(["127.0.0.1:0", "--web", &web])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "brine-server: cannot serve the web page on {web}: "
        )),
        "{stderr}"
    );
    taken.shutdown();
}

#[test]
fn the_web_page_line_and_the_exposure_note() {
    let server = Running::start(&["--web", "127.0.0.1:0"]);
    let line = server.line();
    assert!(
        line.starts_with("Web page on http://127.0.0.1:") && line.ends_with('/'),
        "{line}"
    );
    // Beyond loopback: a note on stderr says who can read the page.
    let mut wide = Command::new(BIN)
        .args(["127.0.0.1:0", "--web", "0.0.0.0:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(wide.stderr.take().unwrap());
    let mut note = String::new();
    stderr.read_line(&mut note).unwrap();
    let _ = wide.kill();
    let _ = wide.wait();
    assert!(
        note.starts_with("brine-server: note: the web page shows every student's name, id and GitHub user name to anyone who can reach 0.0.0.0:"),
        "{note}"
    );
}
