//! An instructor's first hour with `brine-server` (issue 26): the classroom command in `-h`,
//! a warning when students cannot reach the lab, the record confirmed at start with one row
//! per student, and student ids masked on the page. The real binary on 127.0.0.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use brine_core::pickle::Protocol;
use brine_server::Message;

const BIN: &str = env!("CARGO_BIN_EXE_brine-server");
const WAIT: Duration = Duration::from_secs(10);

/// `brine-server 127.0.0.1:0 ARGS`: its stdout and stderr lines as they come. Killed on drop.
struct Running {
    child: Child,
    out: Receiver<String>,
    err: Receiver<String>,
}

fn lines(read: impl Read + Send + 'static) -> Receiver<String> {
    let (send, lines) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(read).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = Command::new(BIN)
            .arg("127.0.0.1:0")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = lines(child.stdout.take().unwrap());
        let err = lines(child.stderr.take().unwrap());
        Running { child, out, err }
    }

    fn out(&self) -> String {
        self.out.recv_timeout(WAIT).expect("a line on stdout")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Connects to `lab`, reads the id, sends `identity`, reads the ack.
fn identify(lab: &str, identity: serde_json::Value) -> TcpStream {
    let mut stream = TcpStream::connect(lab).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 256];
    let _ = stream.read(&mut buf).unwrap();
    let pickle = Message::Json(identity).to_pickle(Protocol::V4).unwrap();
    stream.write_all(&pickle.unwrap()).unwrap();
    let _ = stream.read(&mut buf).unwrap();
    stream
}

/// `GET /api/snapshot` from the page at `web` (`127.0.0.1:PORT`).
fn snapshot(web: &str) -> serde_json::Value {
    let mut stream = TcpStream::connect(web).unwrap();
    stream
        .write_all(b"GET /api/snapshot HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn short_help_opens_with_the_classroom_command() {
    let out = Command::new(BIN).arg("-h").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    let mut help_lines = help.lines();
    assert_eq!(
        help_lines.next(),
        Some("The Python \"pickle over TCP\" lab server. In a classroom:")
    );
    assert_eq!(
        help_lines.next(),
        Some("  brine-server 0.0.0.0:12000 --web 0.0.0.0:8080 --record attendance.csv")
    );
    assert!(help.lines().count() <= 40, "{help}");
    for flag in ["-h", "--help"] {
        let out = Command::new(BIN).arg(flag).output().unwrap();
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            assert!(
                line.chars().count() <= 100,
                "{flag}: over 100 columns: {line}"
            );
        }
    }
}

#[test]
fn a_loopback_lab_with_a_page_warns_that_students_cannot_reach_it() {
    let server = Running::start(&["--web", "127.0.0.1:0"]);
    let listening = server.out();
    let lab = listening
        .strip_prefix("Listening on ")
        .and_then(|l| l.split(' ').next())
        .unwrap()
        .to_owned();
    let port = lab.rsplit_once(':').unwrap().1;
    let warning = server.err.recv_timeout(WAIT).expect("a warning");
    assert!(
        warning.starts_with(&format!(
            "brine-server: warning: students cannot reach the lab server at {lab}: it listens \
             on loopback, which only this machine can reach. Start it as brine-server \
             0.0.0.0:{port}"
        )),
        "{warning}"
    );
    // The page says the same.
    let web = server.out();
    let web = web
        .strip_prefix("Web page on http://")
        .unwrap()
        .trim_end_matches('/');
    let page = snapshot(web);
    assert_eq!(page["warning"], warning["brine-server: warning: ".len()..]);
    assert_eq!(page["lab"], serde_json::json!([lab]));

    // Without the page, nothing to warn about (a local test server).
    let quiet = Running::start(&[]);
    quiet.out();
    assert!(quiet.err.recv_timeout(Duration::from_millis(500)).is_err());
}

#[test]
fn the_record_is_confirmed_and_keeps_one_row_per_student_with_the_email() {
    let dir = std::env::temp_dir().join(format!("brine-first-hour-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let record = dir.join("attendance.csv");
    let _ = std::fs::remove_file(&record);
    let server = Running::start(&[
        "--record",
        record.to_str().unwrap(),
        "--web",
        "127.0.0.1:0",
        "--mask-sid",
    ]);
    let listening = server.out();
    let lab = listening
        .strip_prefix("Listening on ")
        .and_then(|l| l.split(' ').next())
        .unwrap()
        .to_owned();
    let web = server.out();
    let web = web
        .strip_prefix("Web page on http://")
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    assert_eq!(
        server.out(),
        format!(
            "Recording attendance in {} (CSV, 0 rows of earlier runs; one row per student)",
            record.display()
        )
    );
    let ana = serde_json::json!({
        "student_name": "Ana", "email": "ana@x.edu", "sid": 917654321, "github_username": "ana"
    });
    drop(identify(&lab, ana.clone()));
    let bo = identify(&lab, serde_json::json!({"name": "Bo", "email": "bo@x.edu"}));
    // Ana reconnects: her row is updated, not doubled.
    let ana_again = identify(&lab, ana);
    let deadline = std::time::Instant::now() + WAIT;
    let text = loop {
        let text = std::fs::read_to_string(&record).unwrap_or_default();
        if text.contains(",1002,") || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert_eq!(rows[0], brine_server::CSV_HEADER);
    assert_eq!(
        rows[0],
        "time,client_id,peer,student_name,sid,github_username,email,other"
    );
    assert!(rows[1].contains(",1002,") && rows[1].ends_with(",Ana,917654321,ana,ana@x.edu,"));
    assert!(rows[2].contains(",1001,") && rows[2].ends_with(",Bo,,,bo@x.edu,"));

    // The page (published up to ten times a second): one row for Ana, the newest, her
    // student id masked.
    let page = loop {
        let page = snapshot(&web);
        let done = page["clients"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == 1002 && c["name"] == "Ana");
        if done || std::time::Instant::now() > deadline {
            break page;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let clients = page["clients"].as_array().unwrap();
    let anas: Vec<_> = clients.iter().filter(|c| c["name"] == "Ana").collect();
    assert_eq!(anas.len(), 1, "{page}");
    assert_eq!(anas[0]["id"], 1002);
    assert_eq!(anas[0]["sid"], "••••••321");
    assert_eq!(anas[0]["details"], "email: ana@x.edu");
    drop((bo, ana_again));

    // A restart confirms the rows already there.
    drop(server);
    let again = Running::start(&["--record", record.to_str().unwrap()]);
    again.out();
    assert_eq!(
        again.out(),
        format!(
            "Recording attendance in {} (CSV, 2 rows of earlier runs; one row per student)",
            record.display()
        )
    );
    drop(again);
    std::fs::remove_dir_all(&dir).unwrap();
}
