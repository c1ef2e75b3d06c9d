//! The Ethernet firmwares (`brine-firmware-embassy`: embassy-net + async client;
//! `brine-firmware-nal`: smoltcp-nal + brine-adapters' nal transport + blocking client) under
//! QEMU, over their own TCP/IP stacks: QEMU's lm3s6965evb with its Stellaris Ethernet MAC on
//! QEMU's user-mode network (`-nic user,model=stellaris`), where the firmware gets 10.0.2.15
//! by DHCP and reaches the host's 127.0.0.1 at 10.0.2.2. Every line the firmware prints over
//! semihosting, and QEMU's exit status, is checked against CPython's lab server (each mode)
//! and brine-server.
//!
//! The server's port is fixed at build time (`BRINE_SERVER`), so the tests pick a free port
//! once, build both firmwares for it, and take turns on it (one QEMU run at a time, about
//! 0.3 s each). Needs `qemu-system-arm` and the `thumbv7m-none-eabi` target (`bash
//! scripts/test` installs both); without them these tests fail, saying what to install.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use brine_e2e::{
    assert_lab_server_ok, boot_net_firmware, brine_server_bin, build_firmware, identities,
    lab_server_script, Finished, Proc, Server,
};

const FIRMWARES: [&str; 2] = ["brine-firmware-embassy", "brine-firmware-nal"];
/// The identity baked into the test build.
const IDENTITY: [(&str, &str); 4] = [
    ("BRINE_NAME", "Ada Lovelace"),
    ("BRINE_EMAIL", "ada@example.edu"),
    ("BRINE_STUDENT_ID", "001815"),
    ("BRINE_GITHUB", "ada-m3"),
];
/// What the server receives: the lab keys (the default, as the `brine` command's); an id with
/// a leading zero stays a str, as the command sends it.
const IDENTITY_REPR: &str = "{'student_name': 'Ada Lovelace', 'email': 'ada@example.edu', \
                             'sid': '001815', 'github_username': 'ada-m3'}";
/// Each wait of the firmware (DHCP, connect, the id, the rest of a message), in ms.
const TIMEOUT_MS: u64 = 2000;
/// Bounds a whole QEMU run.
const RUN_LIMIT: Duration = Duration::from_secs(20);

/// The port the firmwares are built for, and their ELFs.
struct Build {
    port: u16,
    elves: Vec<PathBuf>,
}

/// Builds both firmwares once per test run (release, features `embassy,nal`) into their own
/// target directory, for a port that was free when the build started.
fn build() -> &'static Build {
    static BUILD: OnceLock<Build> = OnceLock::new();
    BUILD.get_or_init(|| {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let server = format!("10.0.2.2:{port}");
        let timeout = TIMEOUT_MS.to_string();
        let mut env = vec![
            ("BRINE_SERVER", server.as_str()),
            ("BRINE_TIMEOUT_MS", &timeout),
        ];
        env.extend(IDENTITY);
        let release = build_firmware(&["--features", "embassy,nal"], &FIRMWARES, "e2e-net", &env);
        Build {
            port,
            elves: FIRMWARES.iter().map(|bin| release.join(bin)).collect(),
        }
    })
}

/// One test at a time on the build's port.
fn turn() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Boots `elf` on the emulated network and waits for QEMU to exit.
fn boot(elf: &Path) -> Finished {
    boot_net_firmware(elf, RUN_LIMIT)
}

/// CPython's lab server in `mode` on the build's port.
fn lab_server(mode: &str) -> Server {
    let port = build().port.to_string();
    let mut command = Command::new("python3");
    command
        .arg("-u")
        .arg(lab_server_script())
        .args(["--mode", mode, "--port", &port])
        .args(["--accept-timeout", "10", "--timeout", "10"]);
    server(&format!("lab_server.py --mode {mode}"), command, "PORT ")
}

/// Starts a server and waits for its first line (it listens then).
fn server(name: &str, command: Command, first: &str) -> Server {
    let mut proc = Proc::spawn(name, command);
    let line = proc.wait_line(Duration::from_secs(10), |_| true);
    assert!(line.starts_with(first), "{name}: first line {line:?}");
    Server {
        proc,
        port: build().port,
    }
}

/// Runs both firmwares against a fresh lab server in `mode`; checks every line the firmware
/// printed (`lines`, with `{skip}` standing for a `skipped` line checked by `skipped`), its
/// exit status, and that the server saw the identity (unless it closed first) and ended well.
fn lab_mode(mode: &str, lines: &[&str], code: i32, skipped: impl Fn(&str) -> bool) {
    for elf in &build().elves {
        let _turn = turn();
        let server = lab_server(mode);
        let run = boot(elf);
        let server = server.wait();
        eprintln!("{server}");
        assert_lines(&run, lines, &skipped);
        run.assert_code(code);
        if mode != "close-before-id" {
            assert_eq!(identities(&server), [IDENTITY_REPR], "\n{server}");
        }
        assert_lab_server_ok(&server);
    }
}

fn assert_lines(run: &Finished, want: &[&str], skipped: &dyn Fn(&str) -> bool) {
    assert_eq!(run.stdout.len(), want.len(), "lines\n{run}");
    for (got, want) in run.stdout.iter().zip(want) {
        if *want == "{skip}" {
            assert!(skipped(got), "unexpected {got:?}\n{run}");
        } else {
            assert_eq!(got, want, "\n{run}");
        }
    }
}

fn none(_: &str) -> bool {
    false
}

const CLASSIC: [&str; 5] = [
    "client id 54321",
    "message 'Server got the data'",
    "message {'course': 'CSC 645', 'lab': 2, 'scores': [98, 87.5], 'passed': True, 'notes': None}",
    "message ['alpha', 2, 3.5, None]",
    "closed by the server",
];

#[test]
fn classic() {
    lab_mode("classic", &CLASSIC, 0, none);
}

/// Every byte in its own segment, 1 ms apart: hundreds of reads that find nothing yet (for
/// smoltcp-nal, hundreds of `Ok(0)` answers that are not the end of the stream).
#[test]
fn bytewise() {
    lab_mode("bytewise", &CLASSIC, 0, none);
}

#[test]
fn burst() {
    lab_mode(
        "burst",
        &[
            "client id 54321",
            "message 'Server got the data'",
            "message 'second in the burst'",
            "message {'n': 3}",
            "closed by the server",
        ],
        0,
        none,
    );
}

/// A 10,018-byte message: more than the 4096-byte receive buffer, skipped; the next arrives.
#[test]
fn big() {
    lab_mode(
        "big",
        &[
            "client id 54321",
            "message 'small before'",
            "skipped 10018 bytes: larger than the 4096-byte receive buffer",
            "message 'small after'",
            "closed by the server",
        ],
        0,
        none,
    );
}

/// A pickle that would call os.system is skipped, naming the global; nothing else changes.
#[test]
fn evil() {
    lab_mode(
        "evil",
        &[
            "client id 54321",
            "{skip}",
            "message 'after the evil pickle'",
            "closed by the server",
        ],
        0,
        |line| line.starts_with("skipped 31 bytes: ") && line.contains("GLOBAL of os.system"),
    );
}

#[test]
fn close_before_id() {
    lab_mode(
        "close-before-id",
        &["error: the server closed the connection before sending a client id"],
        1,
        none,
    );
}

/// The first 39 of the 78 bytes of a pickle, then the end of the stream: an error, not a
/// message and not an orderly close.
#[test]
fn close_in_the_middle_of_a_message() {
    lab_mode(
        "close-mid-message",
        &[
            "client id 54321",
            "message 'Server got the data'",
            "error: the server closed the connection in the middle of a message (39 bytes of it \
             received)",
        ],
        1,
        none,
    );
}

#[test]
fn brine_server() {
    for elf in &build().elves {
        let _turn = turn();
        let mut command = Command::new(brine_server_bin());
        command
            .arg(format!("127.0.0.1:{}", build().port))
            .args(["--first-id", "777"])
            .args([
                "--send-json",
                r#"{"lab": "TCP client sockets", "points": 10}"#,
            ])
            .args(["--send", "Bye!", "--close-after"]);
        let server = server("brine-server", command, "Listening on 127.0.0.1:");
        let run = boot(elf);
        let mut proc = server.proc;
        proc.wait_line(Duration::from_secs(10), |l| {
            l.starts_with("Client 777 disconnected")
        });
        let server = proc.kill();
        eprintln!("{server}");
        assert_lines(
            &run,
            &[
                "client id 777",
                "message 'Server got the data'",
                "message {'lab': 'TCP client sockets', 'points': 10}",
                "message 'Bye!'",
                "closed by the server",
            ],
            &none,
        );
        run.assert_code(0);
        let identity = format!("Client 777 identity: {IDENTITY_REPR}");
        assert!(server.stdout.contains(&identity), "\n{server}");
    }
}

/// Nothing listens on the port: an `error:` line naming the server, status 1, in bounded time
/// (embassy-net sees the reset; smoltcp-nal retries a refused connection, so the
/// `BRINE_TIMEOUT_MS` bound ends it).
#[test]
fn server_down() {
    let build = build();
    let server = format!("10.0.2.2:{}", build.port);
    let wants = [
        format!("error: cannot connect to {server}: connection refused"),
        format!("error: cannot connect to {server}: no connection within {TIMEOUT_MS} ms"),
    ];
    for (elf, want) in build.elves.iter().zip(wants) {
        let _turn = turn();
        let run = boot(elf);
        assert_lines(&run, &[&want], &none);
        run.assert_code(1);
        assert!(
            run.elapsed < Duration::from_millis(TIMEOUT_MS + 5000),
            "took {:?}\n{run}",
            run.elapsed
        );
    }
}
