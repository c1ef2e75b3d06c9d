//! Hostile senders (a 2^31 length prefix, a bomb, a REDUCE of os.system, garbage, slow
//! senders holding memory) beside good ones, and 1,000 senders at once: the hostile one is
//! skipped or cut off with a note naming it, the good ones lose nothing, memory stays bounded.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use brine_core::logrecord::{Level, LogRecord};

use crate::common::{scratch_dir, Logs};

/// Names and messages only: one line per record.
const FORMAT: &str = "%(name)s %(message)s";

/// SocketHandler's frame of a record from logger `name` with `msg`, written by brine-core.
fn frame(name: &str, msg: &str) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    LogRecord::new(name, Level::Info, msg)
        .write_frame(&mut buf)
        .unwrap()
        .to_vec()
}

/// A length prefix and `body`.
fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn connect(logs: &Logs) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", logs.tcp_port.unwrap())).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// `count` records from logger `name` on one connection, then close.
fn good_sender(logs: &Logs, name: &str, count: usize) -> std::thread::JoinHandle<()> {
    let mut stream = connect(logs);
    let name = name.to_owned();
    std::thread::spawn(move || {
        for i in 0..count {
            stream
                .write_all(&frame(&name, &format!("record {i}")))
                .unwrap();
        }
    })
}

/// The lines of logger `name`, in order.
fn lines_of(output: &str, name: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| l.split(' ').next() == Some(name))
        .map(str::to_owned)
        .collect()
}

fn expected(name: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{name} record {i}")).collect()
}

/// brine logs' resident memory, peak and now, in KiB (Linux /proc).
fn memory_kib(logs: &Logs) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{}/status", logs.child.id())).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap()
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// A pickle CPython writes (protocol 1), from a Python expression.
fn cpython_pickle(setup: &str, expression: &str) -> Vec<u8> {
    let script = format!(
        "import pickle, sys\n{setup}\nsys.stdout.buffer.write(pickle.dumps({expression}, 1))"
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Over --max-record: skipped by its prefix and the connection goes on; a 2^31 prefix is
/// skipped without memory for it; the good sender beside them loses nothing.
#[test]
fn oversize_records_are_skipped() {
    let logs = Logs::start(&["--log-format", FORMAT, "--max-record", "1024"], "UTC");
    let good = good_sender(&logs, "good", 200);
    let mut big = connect(&logs);
    big.write_all(&frame("big", "record 0")).unwrap();
    let mut oversize = framed(&vec![b'x'; 5000]);
    oversize.extend(frame("big", "record 1"));
    big.write_all(&oversize).unwrap();
    // 2^31 announced, 64 KiB sent, then the sender closes.
    big.write_all(&(1u32 << 31).to_be_bytes()).unwrap();
    big.write_all(&vec![0u8; 1 << 16]).unwrap();
    drop(big);
    good.join().unwrap();
    assert!(logs.wait_for_note("disconnected", 2));
    let (peak, _) = memory_kib(&logs);
    let (code, out, notes) = logs.interrupt();
    assert_eq!(code, Some(130));
    assert_eq!(lines_of(&out, "good"), expected("good", 200));
    assert_eq!(lines_of(&out, "big"), expected("big", 2));
    let joined = notes.join("\n");
    assert!(
        joined.contains("skipped a record of 5000 bytes (over --max-record)"),
        "{joined}"
    );
    assert!(
        joined.contains("skipped a record of 2147483648 bytes"),
        "{joined}"
    );
    assert!(
        joined.contains("the sender closed while skipping a record of 2147483648 bytes"),
        "{joined}"
    );
    assert!(
        peak < 200 << 10,
        "peak RSS {peak} KiB: the 2 GiB record was not skipped in place"
    );
}

/// A record that REDUCEs os.system (what the cookbook's receiver would run): the sender is
/// cut off with a note naming it, nothing runs, its later records are dropped, the good
/// sender loses nothing.
#[test]
fn code_running_pickle_is_cut_off() {
    let dir = scratch_dir();
    let marker = dir.join("pwned");
    let evil = cpython_pickle(
        "import os\nclass E:\n    def __reduce__(self):\n        return (os.system, ('touch ' + sys.argv[0],))",
        "{'name': 'evil', 'msg': E(), 'levelno': 20}",
    );
    assert!(evil.windows(6).any(|w| w == b"system"));
    let logs = Logs::start(&["--log-format", FORMAT], "UTC");
    let good = good_sender(&logs, "good", 300);
    let mut attacker = connect(&logs);
    let attacker_addr = attacker.local_addr().unwrap().to_string();
    attacker.write_all(&frame("evil", "record 0")).unwrap();
    attacker.write_all(&framed(&evil)).unwrap();
    let _ = attacker.write_all(&frame("evil", "record 1"));
    good.join().unwrap();
    assert!(logs.wait_for_note("cut off", 1));
    assert!(logs.wait_for_note("disconnected", 1));
    std::thread::sleep(Duration::from_millis(200));
    let (code, out, notes) = logs.interrupt();
    assert_eq!(code, Some(130));
    assert_eq!(lines_of(&out, "good"), expected("good", 300));
    assert_eq!(lines_of(&out, "evil"), expected("evil", 1));
    let cut: Vec<_> = notes.iter().filter(|n| n.contains("cut off")).collect();
    assert_eq!(cut.len(), 2, "{notes:#?}"); // the note and the closing total
    assert!(
        cut[0].contains(&attacker_addr),
        "{cut:?} should name {attacker_addr}"
    );
    // os.system pickles as posix.system on Linux.
    assert!(cut[0].contains("posix.system"), "{cut:?}");
    assert!(!marker.exists());
}

/// A billion-element list in a few hundred bytes (each level refers to the one below twice),
/// and plain garbage: both cut off; a good sender beside them loses nothing; memory stays low.
#[test]
fn bomb_and_garbage_are_cut_off() {
    let bomb = cpython_pickle(
        "x = ['boom']\nfor _ in range(30):\n    x = [x, x]",
        "{'name': 'bomb', 'msg': 'm', 'args': x}",
    );
    assert!(bomb.len() < 1000);
    let logs = Logs::start(&["--log-format", FORMAT], "UTC");
    let good = good_sender(&logs, "good", 300);
    let mut bomber = connect(&logs);
    bomber.write_all(&framed(&bomb)).unwrap();
    let mut garbage = connect(&logs);
    garbage
        .write_all(&framed(b"\x00\x01\x02 this is not a pickle"))
        .unwrap();
    let mut not_a_dict = connect(&logs);
    not_a_dict
        .write_all(&framed(&cpython_pickle("", "['a', 'list']")))
        .unwrap();
    good.join().unwrap();
    assert!(logs.wait_for_note(": cut off:", 3));
    let (peak, _) = memory_kib(&logs);
    let (code, out, notes) = logs.interrupt();
    assert_eq!(code, Some(130));
    assert_eq!(lines_of(&out, "good"), expected("good", 300));
    assert!(lines_of(&out, "bomb").is_empty());
    for (stream, what) in [
        (&bomber, "bomb"),
        (&garbage, "garbage"),
        (&not_a_dict, "list"),
    ] {
        let addr = stream.local_addr().unwrap().to_string();
        assert!(
            notes
                .iter()
                .any(|n| n.contains(&addr) && n.contains("cut off")),
            "{what} sender {addr} not named: {notes:#?}"
        );
    }
    assert!(peak < 200 << 10, "peak RSS {peak} KiB");
}

/// Slow senders that announce big records and send half: the pending budget bounds the
/// memory they take, --timeout cuts them off, and a good sender then gets through.
#[test]
fn slow_senders_hold_no_more_than_the_budget() {
    let logs = Logs::start(
        &[
            "--log-format",
            FORMAT,
            "--max-record",
            "1000000",
            "--max-pending",
            "2100000",
            "--timeout",
            "2",
        ],
        "UTC",
    );
    let (_, before) = memory_kib(&logs);
    let mut slow: Vec<TcpStream> = (0..60)
        .map(|_| {
            let mut s = connect(&logs);
            s.write_all(&1_000_000u32.to_be_bytes()).unwrap();
            s.write_all(&vec![b'x'; 500_000]).unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1000));
    let (_, during) = memory_kib(&logs);
    // Most go away; the 3 left are cut off by --timeout, one budget's worth at a time.
    slow.truncate(3);
    let good = good_sender(&logs, "good", 50);
    good.join().unwrap();
    assert!(logs.wait_for_note("did not arrive whole within 2 s", 3));
    logs.wait_for_bytes(expected("good", 50).join("\n").len());
    let (code, out, _) = logs.interrupt();
    drop(slow);
    assert_eq!(code, Some(130));
    assert_eq!(lines_of(&out, "good"), expected("good", 50));
    // Without the budget: 60 x 500 KB = 30 MB held at once.
    assert!(
        during < before + (12 << 10),
        "RSS grew from {before} to {during} KiB while 60 senders held half records"
    );
}

/// 1,000 connections open at once, each sending 5 records interleaved with the others':
/// every record arrives, in each connection's order.
#[test]
fn a_thousand_senders_at_once() {
    const SENDERS: usize = 1000;
    const RECORDS: usize = 5;
    let _ = rlimit::increase_nofile_limit(4096);
    let logs = Logs::start(&["--log-format", FORMAT], "UTC");
    let mut streams: Vec<TcpStream> = (0..SENDERS).map(|_| connect(&logs)).collect();
    for round in 0..RECORDS {
        for (i, stream) in streams.iter_mut().enumerate() {
            stream
                .write_all(&frame(&format!("s{i}"), &format!("record {round}")))
                .unwrap();
        }
    }
    drop(streams);
    let total: usize = (0..SENDERS)
        .map(|i| format!("s{i} record 0\n").len() * RECORDS)
        .sum();
    logs.wait_for_bytes(total);
    let (code, out, notes) = logs.interrupt();
    assert_eq!(code, Some(130), "{notes:?}");
    let mut by_sender: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for line in out.lines() {
        let (name, message) = line.split_once(' ').unwrap();
        by_sender.entry(name).or_default().push(message);
    }
    assert_eq!(by_sender.len(), SENDERS);
    let want: Vec<String> = (0..RECORDS).map(|r| format!("record {r}")).collect();
    for (name, got) in by_sender {
        assert_eq!(got, want, "{name}");
    }
    assert!(
        notes.iter().any(|n| n.contains(&format!(
            "{} records from {SENDERS} connections",
            SENDERS * RECORDS
        ))),
        "{notes:#?}"
    );
}

/// UDP: a datagram that is not a record, or whose length prefix is wrong, is dropped with a
/// note naming its sender; the records around it arrive.
#[test]
fn bad_datagrams_are_dropped() {
    let logs = Logs::start(&["--udp", "--log-format", FORMAT], "UTC");
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let me = socket.local_addr().unwrap().to_string();
    let target = ("127.0.0.1", logs.udp_port.unwrap());
    let evil = cpython_pickle(
        "import os\nclass E:\n    def __reduce__(self):\n        return (os.system, ('true',))",
        "{'name': 'evil', 'msg': E()}",
    );
    let datagrams = [
        frame("udp", "record 0"),
        framed(&evil),
        b"\x00\x00\x00\x09garbage".to_vec(),
        framed(b"not a pickle at all"),
        frame("udp", "record 1"),
    ];
    for datagram in &datagrams {
        socket.send_to(datagram, target).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    logs.wait_for_bytes(expected("udp", 2).join("\n").len() + 1);
    assert!(logs.wait_for_note("dropped", 3));
    let (code, out, notes) = logs.interrupt();
    assert_eq!(code, Some(130));
    assert_eq!(lines_of(&out, "udp"), expected("udp", 2));
    let dropped: Vec<_> = notes.iter().filter(|n| n.contains("dropped")).collect();
    assert_eq!(dropped.len(), 3, "{notes:#?}");
    assert!(dropped.iter().all(|n| n.contains(&me)), "{dropped:#?}");
    assert!(dropped[0].contains("posix.system"), "{dropped:#?}");
}
