//! Issue 12, brine-server's side: one client sending expansion bombs as fast as the server
//! takes them must not stall honest clients' handshakes, nor grow the server; a message
//! trickled in byte by byte is cut off a fixed time after it began.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use brine_e2e::{brine_server, workspace_dir, Proc};

/// "Done when": honest handshakes' p99 under 100 ms while a client sends bombs.
const P99_MS: f64 = 100.0;

/// The peak resident memory of process `pid` (Linux `VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

#[test]
fn a_bombing_client_does_not_stall_honest_handshakes() {
    // Not -q: every message is logged, so the log lines' bound is exercised too.
    let mut server = brine_server(&[]);
    let mut command = Command::new("python3");
    command
        .arg(workspace_dir().join("tests/servers/attack.py"))
        .args(["127.0.0.1", &server.port.to_string()])
        .args(["--seconds", "5", "--honest", "4"]);
    let attack = Proc::spawn("attack.py", command).wait(Duration::from_secs(40));
    attack.assert_code(0);
    let report: serde_json::Value = serde_json::from_str(&attack.stdout[0]).unwrap();
    let rss = peak_rss_kib(server.proc.id());
    // The server still answers, and logged the bombs cut to their bound.
    let mut honest = TcpStream::connect(server.addr()).unwrap();
    honest
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut hello = [0u8; 64];
    assert!(honest.read(&mut hello).unwrap() > 0);
    let cut = server.proc.wait_line(Duration::from_secs(10), |l| {
        l.contains("sent: [[[[") && l.ends_with("…[cut: its repr is longer than 4096 bytes]")
    });
    assert!(cut.len() < 4096 + 100, "{}", cut.len());
    drop(server.proc.kill());
    eprintln!("{report} peak RSS {rss} KiB");
    assert_eq!(report["failures"], 0, "{report}");
    assert!(report["bombs_sent"].as_u64().unwrap() >= 100, "{report}");
    assert!(report["handshakes"].as_u64().unwrap() >= 100, "{report}");
    let p99 = report["p99_ms"].as_f64().unwrap();
    assert!(p99 < P99_MS, "honest handshakes' p99 {p99} ms: {report}");
    assert!(
        rss < 100 * 1024,
        "brine-server's peak RSS {rss} KiB: {report}"
    );
}

#[test]
fn the_mid_message_deadline_runs_from_the_message_start() {
    let mut server = brine_server(&["--idle-timeout", "2"]);
    let mut client = TcpStream::connect(server.addr()).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 256];
    assert!(client.read(&mut buf).unwrap() > 0); // {'clientid': 1000}
    client.write_all(b"\x80\x04\x8c\x01a.").unwrap(); // the identity 'a'
                                                      // Then a message, one byte every 0.5 s: every read is within the 2 s idle timeout,
                                                      // but the message is still unfinished 2 s after its first byte.
    let started = Instant::now();
    let message = b"\x80\x04\x8c\x14twenty bytes of text.";
    let mut cut_off = None;
    for byte in message {
        if client.write_all(&[*byte]).is_err() {
            cut_off = Some(started.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let line = server
        .proc
        .wait_line(Duration::from_secs(10), |l| l.contains("disconnected"));
    assert_eq!(
        line,
        "Client 1000 disconnected: a message was still unfinished 2 s after it began"
    );
    let cut_off = cut_off.unwrap_or_else(|| started.elapsed());
    assert!(cut_off < Duration::from_secs(6), "{cut_off:?}");
    drop(server.proc.kill());
}
