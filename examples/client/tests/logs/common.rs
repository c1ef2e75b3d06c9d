//! Running `brine logs` and the CPython senders.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BRINE: &str = env!("CARGO_BIN_EXE_brine");

/// tests/servers/log_sender.py (the CPython sender and Formatter oracle).
pub fn sender_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/servers/log_sender.py")
}

/// A fresh directory for one test's files.
pub fn scratch_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "brine-logs-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running `brine logs` with stdout in a file and stderr collected.
pub struct Logs {
    pub child: Child,
    pub tcp_port: Option<u16>,
    pub udp_port: Option<u16>,
    pub out: PathBuf,
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl Logs {
    /// `brine logs 127.0.0.1:0 ARGS` with `TZ` set; waits for its listening lines.
    pub fn start(args: &[&str], tz: &str) -> Logs {
        let dir = scratch_dir();
        let out = dir.join("stdout");
        let mut child = Command::new(BRINE)
            .arg("logs")
            .arg("127.0.0.1:0")
            .args(args)
            .env("TZ", tz)
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run brine");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = BufReader::new(child.stderr.take().unwrap());
        let collected = stderr.clone();
        std::thread::spawn(move || {
            for line in lines.lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line.clone());
                collected.lock().unwrap().push(line);
            }
        });
        let mut logs = Logs {
            child,
            tcp_port: None,
            udp_port: None,
            out,
            stderr,
        };
        let expect_tcp = !args.contains(&"--udp");
        let expect_udp = args.contains(&"--udp") || args.contains(&"--both");
        while (expect_tcp && logs.tcp_port.is_none()) || (expect_udp && logs.udp_port.is_none()) {
            let line = rx
                .recv_timeout(Duration::from_secs(20))
                .expect("brine logs did not say where it listens");
            let port = |line: &str| line.rsplit(':').next().unwrap().parse::<u16>().unwrap();
            if line.contains("listening on tcp") {
                logs.tcp_port = Some(port(&line));
            } else if line.contains("listening on udp") {
                logs.udp_port = Some(port(&line));
            }
        }
        logs
    }

    /// What brine printed on stdout so far.
    pub fn output(&self) -> String {
        String::from_utf8(std::fs::read(&self.out).unwrap()).expect("stdout is UTF-8")
    }

    /// Waits until stdout holds `len` bytes (or 60 s pass).
    pub fn wait_for_bytes(&self, len: usize) {
        let start = Instant::now();
        while std::fs::metadata(&self.out).unwrap().len() < len as u64
            && start.elapsed() < Duration::from_secs(60)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until a stderr line contains `needle` `times` times (or 60 s pass).
    pub fn wait_for_note(&self, needle: &str, times: usize) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if self.notes_with(needle) >= times {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// How many stderr lines contain `needle`.
    pub fn notes_with(&self, needle: &str) -> usize {
        self.stderr
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Ctrl-C (SIGINT); returns the exit status (130 expected) once it exits.
    pub fn interrupt(mut self) -> (Option<i32>, String, Vec<String>) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let start = Instant::now();
        let code = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.code();
            }
            if start.elapsed() > Duration::from_secs(20) {
                let _ = self.child.kill();
                panic!("brine logs did not exit within 20 s of Ctrl-C");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(100));
        let stderr = self.stderr.lock().unwrap().clone();
        (code, self.output(), stderr)
    }
}

impl Drop for Logs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the CPython sender (`log_sender.py PORT ARGS`) with `TZ`; returns what its own
/// Formatter printed.
pub fn send(port: u16, args: &[&str], tz: &str) -> String {
    let out = sender(port, args, tz).wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "log_sender.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The CPython sender, started.
pub fn sender(port: u16, args: &[&str], tz: &str) -> Child {
    Command::new("python3")
        .arg(sender_script())
        .arg(port.to_string())
        .args(args)
        .env("TZ", tz)
        .env("PYTHONIOENCODING", "utf-8")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (the CPython senders) must be installed")
}
