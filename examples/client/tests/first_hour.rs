//! A student's first hour with `brine` (issue 26): each mistake gets the answer it needs, as
//! the real binary prints it (stdout, stderr, exit status), against small servers on
//! 127.0.0.1.

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

mod common;
use common::*;

/// The README's identity flags.
const JOSE: [&str; 8] = [
    "--name",
    "Jose Ortiz",
    "--email",
    "jose@sfsu.edu",
    "--student-id",
    "917654321",
    "--github",
    "jortiz",
];

/// A server that sends the id, reads the identity, waits `pause`, sends `then` and closes.
fn id_then(pause: Duration, then: Vec<u8>) -> (String, thread::JoinHandle<Vec<u8>>) {
    server(move |mut stream| {
        stream.write_all(&hello(54321)).unwrap();
        let identity = read_pickle(&mut stream);
        thread::sleep(pause);
        stream.write_all(&then).unwrap();
        identity
    })
}

/// A server whose first bytes are `first` (not a pickle), then a pause and a close.
fn sends_first(first: &'static [u8]) -> (String, thread::JoinHandle<()>) {
    server(move |mut stream| {
        stream.write_all(first).unwrap();
        thread::sleep(Duration::from_millis(300));
    })
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

// ---- 2: a bare port is this machine's ---------------------------------------------------

#[test]
fn a_bare_port_connects_to_127_0_0_1() {
    let (addr, server) = lab_server(Vec::new());
    let port = addr.rsplit_once(':').unwrap().1;
    let out = brine(&[&[port][..], &JOSE].concat());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        lines(&stdout(&out)),
        [
            "Assigned client id by server: 54321",
            "'Server got the data'"
        ]
    );
    assert_eq!(
        lines(&stderr(&out))[0],
        format!("connected to 127.0.0.1:{port}")
    );
    server.join().unwrap();

    // Nothing there: refused on 127.0.0.1, never 0.0.x.y.
    let port = free_port().to_string();
    let out = brine(&[port.as_str()]);
    assert_eq!(code(&out), 3);
    assert_eq!(
        stderr(&out),
        format!("error: connection refused by 127.0.0.1:{port}: is the server running?\n")
    );
}

#[test]
fn an_address_that_cannot_be_meant_is_refused_not_dialled() {
    for (address, reason) in [
        (
            "120000",
            "a bare number is a port on 127.0.0.1 and must be from 1 to 65535",
        ),
        (
            "10.1",
            "a host of digits and dots must be an IPv4 address, four numbers 0-255 (e.g. \
             10.0.0.5)",
        ),
        (
            "12000:12000",
            "a host of digits and dots must be an IPv4 address, four numbers 0-255 (e.g. \
             10.0.0.5)",
        ),
    ] {
        let started = Instant::now();
        let out = brine(&[address]);
        assert_eq!(code(&out), 2, "{address}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            format!("error: invalid server address '{address}': {reason}\n")
        );
        assert!(stdout(&out).is_empty());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{address} was dialled"
        );
    }
}

// ---- 3: usage errors with the fix -------------------------------------------------------

#[test]
fn a_name_without_quotes_gets_one_line_with_the_fix() {
    for args in [
        &["--name", "Jose", "Ortiz", "127.0.0.1:1"][..],
        &["127.0.0.1:1", "--name", "Jose", "Ortiz"],
        &["--name", "Jose", "Ortiz"],
    ] {
        let out = brine(args);
        assert_eq!(code(&out), 2, "{args:?}");
        assert_eq!(
            stderr(&out),
            "error: 'Ortiz' follows --name Jose: quote a value with spaces: --name \"Jose \
             Ortiz\" (a server named Ortiz: write Ortiz:PORT)\n",
            "{args:?}"
        );
    }
    let out = brine(&["--format", "json", "--name", "Jose", "Ortiz"]);
    assert_eq!(code(&out), 2);
    let event: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(event["event"], "error");
    assert_eq!(event["kind"], "usage");
    assert!(
        event["message"]
            .as_str()
            .unwrap()
            .contains("--name \"Jose Ortiz\""),
        "{event}"
    );
}

#[test]
fn the_keys_names_are_accepted_as_flags() {
    let (addr, server) = lab_server(Vec::new());
    let out = brine(&[
        &addr,
        "--student_name",
        "Ada",
        "--sid",
        "917654321",
        "--github-username",
        "ada",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        repr(&server.join().unwrap()),
        "{'student_name': 'Ada', 'sid': 917654321, 'github_username': 'ada'}"
    );
    for alias in ["--id", "--student_id"] {
        let (addr, server) = lab_server(Vec::new());
        let out = brine(&[&addr, alias, "7"]);
        assert_eq!(code(&out), 0, "{alias}: {}", stderr(&out));
        assert_eq!(repr(&server.join().unwrap()), "{'sid': 7}", "{alias}");
    }
}

#[test]
fn json_usage_errors_carry_the_message_clap_prints() {
    let out = brine(&["--format", "json", "--nmae", "Ada"]);
    assert_eq!(code(&out), 2);
    let event: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(
        event,
        serde_json::json!({
            "event": "error", "kind": "usage", "code": 2,
            "message": "unexpected argument '--nmae' found; tip: a similar argument exists: '--name'"
        })
    );
    // The same words on stderr, as clap prints them.
    assert_stderr_starts(&out, "error: unexpected argument '--nmae' found");
    let out = brine_env(&["--timeout", "x"], &[("BRINE_FORMAT", "json")], b"");
    let event: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(
        event["message"],
        "invalid value 'x' for '--timeout <SECS>': expected a number of seconds, got 'x'"
    );
}

// ---- 4: hints that tell cases apart, and exit status 7 ----------------------------------

#[test]
fn a_close_right_after_the_identity_exits_7_and_names_the_alternative() {
    let (addr, server) = id_then(Duration::ZERO, Vec::new());
    let out = brine(&[&[addr.as_str()][..], &JOSE].concat());
    server.join().unwrap();
    assert_eq!(code(&out), 7, "{}", stderr(&out));
    assert_eq!(stdout(&out), "Assigned client id by server: 54321\n");
    let err = stderr(&out);
    assert_eq!(
        lines(&err)[2..],
        [
            "hint: the server closed the connection right after the identity without sending \
             anything (keys sent: 'student_name', 'email', 'sid', 'github_username'): the \
             instructor's server reads student_name/sid/github_username (the default); a server \
             written from the handout reads name/email: try --keys handout",
            "server closed the connection",
            "error: the server closed the connection right after the identity without sending \
             anything (exit status 7)",
        ],
        "{err}"
    );

    let (addr, server) = id_then(Duration::ZERO, Vec::new());
    let out = brine(&[addr.as_str(), "--name", "Ada", "--keys", "handout"]);
    server.join().unwrap();
    assert_eq!(code(&out), 7);
    assert_stderr_has(
        &out,
        "(keys sent: 'name'): a server written from the handout reads name/email (--keys \
             handout); the instructor's server reads student_name/sid/github_username: try \
             --keys lab (the default)",
    );

    // A server that answered and then closed: a normal conversation, status 0, no hint.
    let (addr, server) = id_then(Duration::ZERO, p4("Server got the data"));
    let out = brine(&[addr.as_str(), "--name", "Ada"]);
    server.join().unwrap();
    assert_eq!(code(&out), 0);
    assert!(!stderr(&out).contains("hint"), "{}", stderr(&out));
}

#[test]
fn a_close_right_after_the_identity_is_a_json_error_with_code_7() {
    let (addr, server) = id_then(Duration::ZERO, Vec::new());
    let out = brine(&[addr.as_str(), "--name", "Ada", "--format", "json"]);
    server.join().unwrap();
    assert_eq!(code(&out), 7);
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["connected", "client_id", "sent", "hint", "closed", "error"]
    );
    assert_eq!(events[3]["kind"], "closed_after_identity");
    assert_eq!(events[5]["kind"], "closed_after_identity");
    assert_eq!(events[5]["code"], 7);
}

#[test]
fn a_slow_server_gets_no_hint_and_a_silent_one_no_answer_yet() {
    // Answers after 4 s: more than the old 3 s hint, well within the default 10 s.
    let (addr, server) = id_then(Duration::from_secs(4), p4("Server got the data"));
    let out = brine(&[addr.as_str(), "--name", "Ada"]);
    server.join().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stderr(&out).contains("hint"), "{}", stderr(&out));
    assert!(stdout(&out).ends_with("'Server got the data'\n"));

    let (addr, server) = id_then(Duration::from_secs(2), p4("late"));
    let out = brine(&[addr.as_str(), "--name", "Ada", "--hint-after", "0.5"]);
    server.join().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        lines(&stderr(&out))[2],
        "hint: no answer yet, 0.5 s after the identity; still listening (Ctrl-C to stop). A \
         server that never answers may expect other keys (sent: 'student_name'; see --keys)"
    );
    assert!(stdout(&out).ends_with("'late'\n"));
}

// ---- 5: a first message that is not a pickle is shown -----------------------------------

#[test]
fn a_first_message_that_is_not_a_pickle_is_shown_with_a_guess() {
    for (first, shown, guess) in [
        (
            &b"HTTP/1.1 400 Bad Request\r\n\r\n"[..],
            "b'HTTP/1.1 400 Bad Request\\r\\n\\r\\n' (its first 28 bytes)",
            "this looks like HTTP",
        ),
        (
            b"{\"clientid\": 1001}\n",
            "b'{\"clientid\": 1001}\\n' (its first 19 bytes)",
            "this looks like JSON",
        ),
        (
            b"Your client id is 1001\n",
            "b'Your client id is 1001\\n' (its first 23 bytes)",
            "this looks like text",
        ),
        (
            // pickle.dumps({'clientid': 1}) after struct.pack('>I', len).
            b"\x00\x00\x00\x1c\x80\x04\x95\x11\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94K\x01s.",
            "b'\\x00\\x00\\x00\\x1c\\x80\\x04\\x95\\x11",
            "this looks like a 4-byte length prefix before a pickle",
        ),
    ] {
        let (addr, server) = sends_first(first);
        let out = brine(&[addr.as_str(), "--name", "Ada"]);
        server.join().unwrap();
        assert_eq!(code(&out), 5, "{}", stderr(&out));
        let err = stderr(&out);
        let last = lines(&err).last().copied().unwrap();
        assert!(last.starts_with("error: protocol error: invalid pickle"), "{err}");
        assert!(last.contains(&format!("; the server sent {shown}")), "{err}");
        assert!(last.contains(guess), "{err}");
        assert!(stdout(&out).is_empty());
    }
}

// ---- 6: --buffer ------------------------------------------------------------------------

#[test]
fn a_message_larger_than_4096_bytes_is_seen_with_buffer() {
    // A chat server's menu: 6,029 bytes pickled.
    let menu = "m".repeat(6029 - 18);
    let big = p4(menu.as_str());
    assert_eq!(big.len(), 6029);
    let (addr, server) = lab_server(vec![big.clone()]);
    let out = brine(&[addr.as_str(), "--name", "Ada"]);
    server.join().unwrap();
    assert_eq!(code(&out), 0);
    assert_stderr_has(
        &out,
        "skipped a 6029-byte message: larger than the 4096-byte receive buffer (see it \
             with --buffer 6029)",
    );
    assert!(!stdout(&out).contains("mmm"));

    for buffer in ["6029", "64K", "1M"] {
        let (addr, server) = lab_server(vec![big.clone()]);
        let out = brine(&[addr.as_str(), "--name", "Ada", "--buffer", buffer]);
        server.join().unwrap();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(
            lines(&stdout(&out))[2],
            format!("'{menu}'"),
            "--buffer {buffer}"
        );
        assert!(!stderr(&out).contains("skipped"), "{}", stderr(&out));
    }
    let out = brine(&["--buffer", "2M"]);
    assert_eq!(code(&out), 2);
    assert_stderr_has(&out, "at most 1M (1048576 bytes), got '2M'");
}

// ---- 7: the demo in the exchange's order ------------------------------------------------

/// The README's demo transcript (the `text` block after `cargo run -p brine-cli -- demo`).
fn readme_demo() -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let after = readme
        .split_once("cargo run -p brine-cli -- demo\n```\n\n```text\n")
        .expect("README.md's demo transcript")
        .1;
    let block = after.split_once("```").unwrap().0;
    block.lines().map(mask_ports).collect()
}

/// `127.0.0.1:38483` as `127.0.0.1:PORT`.
fn mask_ports(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("127.0.0.1:") {
        let (head, tail) = rest.split_at(at + "127.0.0.1:".len());
        out.push_str(head);
        out.push_str("PORT");
        rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

#[test]
fn the_demo_prints_the_exchange_in_its_order_every_run() {
    let want = readme_demo();
    assert_eq!(want.len(), 12, "{want:#?}");
    for run in 0..5 {
        let out = brine(&["demo"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let got: Vec<String> = stdout(&out)
            .lines()
            .filter(|l| l.starts_with("client | ") || l.starts_with("server | "))
            .map(mask_ports)
            .collect();
        assert_eq!(got, want, "run {run}");
    }
}

// ---- 8: help that fits a screen ---------------------------------------------------------

#[test]
fn short_help_fits_one_screen_with_examples() {
    let out = brine(&["-h"]);
    assert_eq!(code(&out), 0);
    let help = stdout(&out);
    // 40 lines at most, the dialect flags (issue 23) included.
    assert!(
        help.lines().count() <= 40,
        "{} lines:\n{help}",
        help.lines().count()
    );
    assert!(help.contains(
        "Examples:\n  brine 10.0.0.5:12000 --name \"Jose Ortiz\" --email jose@sfsu.edu --student-id \
         917654321\n"
    ));
    assert!(help.contains("  brine demo "));
    for (args, most) in [
        (&["-h"][..], 40),
        // 200, and issue 22's --refuse-objects (its line, a blank and its variable).
        (&["--help"], 204),
        (&["demo", "-h"], 40),
        (&["load", "-h"], 40),
        (&["load", "--help"], 200),
        (&["pickle", "decode", "--help"], 40),
    ] {
        let out = brine(args);
        assert_eq!(code(&out), 0);
        let text = stdout(&out);
        assert!(text.lines().count() <= most, "{args:?}: {text}");
        for line in text.lines() {
            assert!(
                line.chars().count() <= 100,
                "{args:?}: a line over 100 columns: {line}"
            );
        }
    }
}

// ---- 1: no panic on a value that is not UTF-8 (every command: tests/tests/first_hour.rs) ---

#[test]
fn a_value_that_is_not_utf8_is_named() {
    use std::os::unix::ffi::OsStrExt;
    let jose = std::ffi::OsStr::from_bytes(b"Jos\xe9");
    let out = std::process::Command::new(BRINE)
        .args(["127.0.0.1:1".as_ref(), "--name".as_ref(), jose])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: argument 3 (the value of --name) is not valid UTF-8: 'Jos\\xe9' (text must be \
         UTF-8; check the terminal's or the script's encoding)\n"
    );
    let out = std::process::Command::new(BRINE)
        .arg("127.0.0.1:1")
        .env("BRINE_NAME", jose)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "error: the environment variable BRINE_NAME is not valid UTF-8: 'Jos\\xe9' (text must \
         be UTF-8)\n"
    );
}
