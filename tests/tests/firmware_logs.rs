//! `brine-firmware-logs` under QEMU (lm3s6965evb, its Ethernet MAC on QEMU's user-mode
//! network, embassy-net) sends log records as Python's `SocketHandler` does (brine-core's
//! `logrecord`); they are received by the logging cookbook's receiver in CPython
//! (`servers/log_receiver.py`, which unpickles them) and by `brine logs`, and both print the
//! same lines with the same format. Needs `qemu-system-arm`, the `thumbv7m-none-eabi` target
//! and `python3`; fails (never skips) without them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use brine_e2e::{boot_net_firmware, build_firmware, python_server, spawn_brine};

const FIRMWARE: &str = "brine-firmware-logs";
const RUN_LIMIT: Duration = Duration::from_secs(30);
/// Every attribute the firmware sets that does not depend on time.
const FORMAT: &str = "%(name)s %(levelname)s %(levelno)d %(pathname)s %(module)s.%(funcName)s:%(lineno)d %(threadName)s %(processName)s %(message)s";
/// The firmware's records in FORMAT (its `exc_text` on the lines after its record).
const EXPECTED: [&str; 8] = [
    "firmware INFO 20 src/bin/logs.rs logs.main:40 MainThread MainProcess booted: lm3s6965evb, embassy-net up",
    "firmware.sensor WARNING 30 src/bin/logs.rs logs.poll:52 MainThread MainProcess temperature 81 °C over the 80 °C limit",
    "firmware.net ERROR 40 src/bin/logs.rs logs.upload:60 MainThread MainProcess upload failed, retrying",
    "Traceback (most recent call last):",
    "  File \"src/bin/logs.rs\", line 60, in upload",
    "TimeoutError: no answer within 2000 ms",
    "firmware.sensor DEBUG 10 src/bin/logs.rs logs.poll:55 MainThread MainProcess raw reading 0x0fa3 (µV: 4003 ✓)",
    "firmware CRITICAL 50 src/bin/logs.rs logs.main:71 MainThread MainProcess shutting down: 'brownout'",
];
const RECORDS: &str = "5";
/// The firmware's own lines (semihosting).
const SENT: [&str; 6] = [
    "sent INFO firmware: booted: lm3s6965evb, embassy-net up",
    "sent WARNING firmware.sensor: temperature 81 °C over the 80 °C limit",
    "sent ERROR firmware.net: upload failed, retrying",
    "sent DEBUG firmware.sensor: raw reading 0x0fa3 (µV: 4003 ✓)",
    "sent CRITICAL firmware: shutting down: 'brownout'",
    "sent 5 records",
];

/// The firmware, built once for a port that was free when the build started.
fn build() -> &'static (u16, PathBuf) {
    static BUILD: OnceLock<(u16, PathBuf)> = OnceLock::new();
    BUILD.get_or_init(|| {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let server = format!("10.0.2.2:{port}");
        let env = [
            ("BRINE_SERVER", server.as_str()),
            ("BRINE_TIMEOUT_MS", "5000"),
        ];
        let release = build_firmware(&["--features", "embassy"], &[FIRMWARE], "e2e-logs", &env);
        (port, release.join(FIRMWARE))
    })
}

/// Waits until something listens on `port` (binding it fails), at most 20 s.
fn wait_listening(port: u16) {
    let start = Instant::now();
    while TcpListener::bind(("127.0.0.1", port)).is_ok() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "nothing listens on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn boot(elf: &Path) {
    let run = boot_net_firmware(elf, RUN_LIMIT);
    run.assert_code(0);
    assert_eq!(run.stdout, SENT, "\n{run}");
}

/// One test: both receivers take turns on the firmware's port.
#[test]
fn firmware_records_reach_cpython_and_brine_logs() {
    let (port, elf) = build();
    let port_arg = port.to_string();

    // The logging cookbook's receiver, in CPython.
    let receiver = python_server(
        Path::new("python3"),
        "log_receiver.py",
        &[&port_arg, "--format", FORMAT, "--count", RECORDS],
        &[("PYTHONIOENCODING", "utf-8")],
    );
    assert_eq!(receiver.port, *port);
    boot(elf);
    let cpython = receiver.wait();
    cpython.assert_code(0);
    assert_eq!(cpython.stdout[1..], EXPECTED, "\n{cpython}");

    // brine logs, with the same format.
    let addr = format!("127.0.0.1:{port}");
    let brine = spawn_brine(&["logs", &addr, "--log-format", FORMAT, "--count", RECORDS]);
    wait_listening(*port);
    boot(elf);
    let brine = brine.wait(RUN_LIMIT);
    brine.assert_code(0);
    assert_eq!(brine.stdout, EXPECTED, "\n{brine}");
    brine.assert_stderr_has("connected: 127.0.0.1:");
}
