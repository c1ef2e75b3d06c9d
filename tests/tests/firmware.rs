//! The firmware (`examples/firmware`) under QEMU against real servers: QEMU's lm3s6965evb
//! boots it with UART0 joined to a TCP connection (`-serial tcp:127.0.0.1:PORT`); the
//! firmware logs through semihosting and exits QEMU with its status.
//!
//! Needs `qemu-system-arm` and the `thumbv7m-none-eabi` target (`bash .ci/run` installs
//! both); without them these tests fail, saying what to install. They never skip.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use brine_e2e::build_firmware;
use brine_server::{Config, Message, Server, ServerEvent};

/// The identity baked into the test builds (build-time settings, `option_env!`).
const NAME: &str = "Ada Lovelace";
const EMAIL: &str = "ada@example.edu";
const STUDENT_ID: &str = "1815";
const GITHUB: &str = "ada-m3";
/// What the server receives from [`firmware`]: the lab keys (the default, as the `brine`
/// command's), the id as an int; pickled at run time.
const IDENTITY_REPR: &str = "{'student_name': 'Ada Lovelace', 'email': 'ada@example.edu', \
                             'sid': 1815, 'github_username': 'ada-m3'}";
/// What the server receives from [`lean_firmware`] (`BRINE_KEYS=handout`, as `--keys
/// handout`): the handout's keys, the id as a str; pickled by build.rs.
const IDENTITY_REPR_HANDOUT: &str = "{'name': 'Ada Lovelace', 'email': 'ada@example.edu', \
                                     'student_id': '1815', 'github_username': 'ada-m3'}";
/// The firmware ends after this long without a byte (a UART has no "closed").
const IDLE_MS: &str = "1500";
/// Bounds a whole QEMU run: boot, handshake, messages, the idle timeout, exit.
const DEADLINE: Duration = Duration::from_secs(60);
/// The authkey baked into `brine-firmware-mp`.
const AUTHKEY: &str = "fw-k3y";

/// Builds the firmware once per test run (release, with the test identity).
fn firmware() -> &'static Path {
    static ELF: OnceLock<PathBuf> = OnceLock::new();
    ELF.get_or_init(|| build("brine-firmware", &[], "lab", "brine-firmware"))
}

/// The smallest lab configuration: brine-core without its default features (no protocol-0
/// float parsing, no repr, the identity pickled by build.rs), messages printed by type; built
/// with the handout's keys.
fn lean_firmware() -> &'static Path {
    static ELF: OnceLock<PathBuf> = OnceLock::new();
    ELF.get_or_init(|| {
        build(
            "brine-firmware",
            &["--no-default-features"],
            "handout",
            "brine-firmware-lean",
        )
    })
}

/// Builds `bin` with `features_args` and `BRINE_KEYS=keys` and copies the ELF to `name` (one
/// build at a time: builds write the same output path).
fn build(bin: &str, features_args: &[&str], keys: &str, name: &str) -> PathBuf {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let release = build_firmware(
        features_args,
        &[bin],
        "e2e",
        &[
            ("BRINE_NAME", NAME),
            ("BRINE_EMAIL", EMAIL),
            ("BRINE_STUDENT_ID", STUDENT_ID),
            ("BRINE_GITHUB", GITHUB),
            ("BRINE_KEYS", keys),
            ("BRINE_IDLE_MS", IDLE_MS),
            ("BRINE_MESSAGES", "0"),
            ("BRINE_AUTHKEY", AUTHKEY),
        ],
    );
    let elf = release.join(name);
    if name != bin {
        std::fs::copy(release.join(bin), &elf).expect("copy the ELF");
    }
    elf
}

/// What QEMU printed (the firmware's semihosting lines) and how it exited.
struct Run {
    stdout: String,
    stderr: String,
    status: ExitStatus,
    elapsed: Duration,
}

impl Run {
    fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

/// Boots `elf` with UART0 connected to `port`; kills QEMU after [`DEADLINE`].
fn boot(elf: &Path, port: u16) -> Run {
    let start = Instant::now();
    let mut qemu = Command::new("qemu-system-arm")
        .args(["-machine", "lm3s6965evb", "-cpu", "cortex-m3"])
        // No display; with -nographic the monitor would share stdio: switch it off, so
        // stdout carries the firmware's semihosting output alone.
        .args(["-nographic", "-monitor", "none"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .args(["-serial", &format!("tcp:127.0.0.1:{port}")])
        .arg("-kernel")
        .arg(elf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qemu-system-arm starts");
    let stdout = drain(qemu.stdout.take().expect("piped"));
    let stderr = drain(qemu.stderr.take().expect("piped"));
    let status = wait_or_kill(&mut qemu, DEADLINE);
    let run = Run {
        stdout: stdout.recv().unwrap_or_default(),
        stderr: stderr.recv().unwrap_or_default(),
        status: status
            .unwrap_or_else(|| panic!("QEMU was still running after {DEADLINE:?}; killed it")),
        elapsed: start.elapsed(),
    };
    eprintln!(
        "QEMU ran {:.2?}, {}\n--- firmware (semihosting) ---\n{}--- QEMU stderr ---\n{}",
        run.elapsed, run.status, run.stdout, run.stderr
    );
    run
}

fn drain(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    rx
}

/// The exit status, or `None` after killing a process that outlived `deadline`.
fn wait_or_kill(child: &mut Child, deadline: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for QEMU") {
            return Some(status);
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Checks the firmware's report: its id, the messages in order, a clean end, status 0.
fn assert_session(run: &Run, id: &str, messages: &[&str]) {
    let lines = run.lines();
    assert!(
        lines.contains(&format!("client id {id}").as_str()),
        "no client id line in {lines:#?}"
    );
    let got: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("message "))
        .collect();
    assert_eq!(got, messages, "messages in {lines:#?}");
    let done = format!(
        "done: idle for {IDLE_MS} ms after {} messages",
        messages.len()
    );
    assert!(lines.contains(&done.as_str()), "no `{done}` in {lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("memory: stack high-water ")),
        "no memory report in {lines:#?}"
    );
    assert!(run.status.success(), "QEMU exited with {}", run.status);
}

#[test]
fn firmware_against_the_reference_server() {
    firmware();
    let server = Server::start(Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        first_id: 54321,
        script: vec![
            Message::Json(
                serde_json::json!({"lab": "TCP client sockets", "due": "Friday", "points": 10}),
            ),
            Message::Json(serde_json::json!([1, 2.5, "three", null, true, [], {}])),
            Message::Close,
        ],
        ..Config::default()
    })
    .expect("the reference server starts");
    let events = server.events();
    let run = boot(firmware(), server.local_addr().port());

    assert_session(
        &run,
        "54321",
        &[
            "'Server got the data'",
            "{'lab': 'TCP client sockets', 'due': 'Friday', 'points': 10}",
            "[1, 2.5, 'three', None, True, [], {}]",
        ],
    );
    let sent = "sent identity: student_name=Ada Lovelace email=ada@example.edu sid=1815 \
                github_username=ada-m3";
    assert!(
        run.lines().contains(&sent),
        "no `{sent}` in {:#?}",
        run.lines()
    );
    let mut identity = None;
    while let Ok(event) = events.recv_timeout(Duration::from_secs(5)) {
        match event {
            ServerEvent::Identity { id, value, .. } => identity = Some((id, value)),
            ServerEvent::Disconnected { .. } => break,
            _ => {}
        }
    }
    assert_eq!(identity, Some((54321, IDENTITY_REPR.to_string())));
    server.shutdown();
}

#[test]
fn firmware_against_the_cpython_lab_server() {
    lab_server_session(
        firmware(),
        IDENTITY_REPR,
        &[
            "'Server got the data'",
            "{'course': 'CSC 645', 'lab': 2, 'scores': [98, 87.5], 'passed': True, 'notes': None}",
            "['alpha', 2, 3.5, None]",
        ],
    );
}

/// The smallest configuration (the last line of examples/firmware/footprint.sh) completes the
/// handshake with its build-time identity (the handout's keys) and gets the messages as values.
#[test]
fn lean_firmware_against_the_cpython_lab_server() {
    lab_server_session(
        lean_firmware(),
        IDENTITY_REPR_HANDOUT,
        &["str", "dict of 5 items", "list of 4 items"],
    );
}

/// The prototype of a lean receive side (examples/firmware/src/bin/proto.rs: one buffer and
/// a skip-only scan around brine-core's decoder, measured in BENCHMARKS.md's "Firmware
/// footprint"), built as the smallest configuration: the same handshake and messages.
#[test]
fn proto_firmware_against_the_cpython_lab_server() {
    static ELF: OnceLock<PathBuf> = OnceLock::new();
    let elf = ELF.get_or_init(|| {
        build(
            "brine-firmware-proto",
            &["--no-default-features"],
            "handout",
            "brine-firmware-proto",
        )
    });
    lab_server_session(
        elf,
        IDENTITY_REPR_HANDOUT,
        &["str", "dict of 5 items", "list of 4 items"],
    );
}

/// Boots `elf` against tests/servers/lab_server.py (classic mode): the firmware prints
/// `messages`, the server prints `identity` (a repr).
fn lab_server_session(elf: &Path, identity: &str, messages: &[&str]) {
    let script = brine_e2e::lab_server_script();
    let mut python = Command::new("python3")
        .arg(&script)
        .args(["--mode", "classic", "--port", "0", "--accept-timeout", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 is needed for the CPython lab server: {e}"));
    let mut out = BufReader::new(python.stdout.take().expect("piped"));
    let mut first = String::new();
    out.read_line(&mut first)
        .expect("the server prints its port");
    let port: u16 = first
        .strip_prefix("PORT ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("expected `PORT <n>`, got {first:?}"));
    let server_lines = drain(out);

    let run = boot(elf, port);

    assert_session(&run, "54321", messages);
    // QEMU has exited, so the connection is closed and the server ends.
    let status = wait_or_kill(&mut python, Duration::from_secs(20));
    let server_out = server_lines.recv().unwrap_or_default();
    eprintln!("--- CPython lab server ---\n{first}{server_out}");
    assert!(
        server_out
            .lines()
            .any(|l| l == format!("IDENTITY {identity}")),
        "the server did not print the identity: {server_out}"
    );
    assert!(server_out.lines().any(|l| l == "CLOSED"), "{server_out}");
    assert!(
        status.is_some_and(|s| s.success()),
        "the CPython lab server exited with {status:?}: {server_out}"
    );
}

/// `multiprocessing.connection` from the firmware: `brine-firmware-mp` (feature
/// `multiprocessing`) authenticates over the UART with CPython's own `Listener`
/// (tests/servers/mp_peer.py), 3.11's HMAC-MD5 and 3.12's `{sha256}`, prints its greeting,
/// sends 'bye' and prints the answer.
#[test]
fn multiprocessing_firmware_against_cpython_listeners() {
    let elf = build(
        "brine-firmware-mp",
        &["--features", "multiprocessing"],
        "lab",
        "brine-firmware-mp",
    );
    for (python, version, digest) in [
        (PathBuf::from("python3"), "3, 11", "Md5"),
        (brine_e2e::pyenv_python(12), "3, 12", "Sha256"),
    ] {
        let server = brine_e2e::python_server(
            &python,
            "mp_peer.py",
            &["listen", "--authkey-env", "FW_KEY"],
            &[("FW_KEY", AUTHKEY)],
        );
        let run = boot(&elf, server.port);
        assert_eq!(
            run.lines()[..5],
            [
                format!("authenticated: (Some({digest}), Some({digest}))").as_str(),
                "greeting:",
                &format!("message {{'hello': 'from python', 'version': [{version}]}}"),
                "message 'bye'",
                &format!("done: idle for {IDLE_MS} ms"),
            ]
        );
        assert!(run.status.success(), "{}", run.status);
        assert_eq!(server.wait().stdout[1..], ["RECEIVED 'bye'", "CLOSED"]);
    }
}
