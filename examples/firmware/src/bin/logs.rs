//! The board logging into Python's `logging`: over embassy-net (setup:
//! `brine_firmware::net_embassy`) it connects to `BRINE_SERVER` and sends a few records as
//! `logging.handlers.SocketHandler` sends them (brine-core's `logrecord`: a 4-byte length and
//! the record's dict in pickle protocol 1), so `brine logs` or the logging cookbook's receiver
//! prints them as if they were logged in Python. `created` is the time since boot (the board
//! has no calendar clock).
//!
//! Prints `sent <levelname> <name>: <msg>` per record and `sent <N> records` over
//! semihosting, closes, waits for the receiver to close too (so every byte left the stack),
//! and exits QEMU with status 0; on a failure, an `error:` line and status 1.

#![no_std]
#![no_main]

use brine_core::logrecord::{Level, LogRecord};
use brine_firmware::lab::TIMEOUT_MS;
use brine_firmware::{clock, exit, fail, net_embassy};
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use embassy_executor::Spawner;
use embassy_time::{with_timeout, Duration};
use embedded_io_async::Write;

/// A traceback, as a Python exception handler's record carries it in `exc_text`.
const TRACEBACK: &str = "Traceback (most recent call last):\n  File \"src/bin/logs.rs\", line 60, in upload\nTimeoutError: no answer within 2000 ms";

/// The records (their times are set when they are sent).
const RECORDS: [LogRecord<'static>; 5] = [
    record(
        "firmware",
        Level::Info,
        "booted: lm3s6965evb, embassy-net up",
        "main",
        40,
    ),
    record(
        "firmware.sensor",
        Level::Warning,
        "temperature 81 °C over the 80 °C limit",
        "poll",
        52,
    ),
    with_traceback(record(
        "firmware.net",
        Level::Error,
        "upload failed, retrying",
        "upload",
        60,
    )),
    record(
        "firmware.sensor",
        Level::Debug,
        "raw reading 0x0fa3 (µV: 4003 ✓)",
        "poll",
        55,
    ),
    record(
        "firmware",
        Level::Critical,
        "shutting down: 'brownout'",
        "main",
        71,
    ),
];

/// A record of this file's function `func` at `line`.
const fn record(
    name: &'static str,
    level: Level,
    msg: &'static str,
    func: &'static str,
    line: u32,
) -> LogRecord<'static> {
    let mut record = LogRecord::new(name, level, msg);
    record.pathname = "src/bin/logs.rs";
    record.filename = "logs.rs";
    record.module = "logs";
    record.func_name = func;
    record.lineno = line;
    record
}

/// `record` with [`TRACEBACK`] as its `exc_text`.
const fn with_traceback(mut record: LogRecord<'static>) -> LogRecord<'static> {
    record.exc_text = Some(TRACEBACK);
    record
}

#[entry]
fn main() -> ! {
    net_embassy::run(send_logs)
}

#[embassy_executor::task]
async fn send_logs(spawner: Spawner) {
    let mut socket = net_embassy::connect(spawner).await;
    let boot_ms = clock::millis();
    let mut buf = [0u8; 1024];
    for mut record in RECORDS {
        let now = clock::millis();
        record.created = f64::from(now) / 1000.0;
        record.relative_created = f64::from(now - boot_ms);
        let frame = record.write_frame(&mut buf).unwrap_or_else(|e| fail(e));
        if let Err(e) = socket.write_all(frame).await {
            fail(format_args!("sending a record: {e:?}"));
        }
        hprintln!("sent {} {}: {}", record.levelname, record.name, record.msg);
    }
    if let Err(e) = socket.flush().await {
        fail(format_args!("flushing: {e:?}"));
    }
    hprintln!("sent {} records", RECORDS.len());
    // Our FIN after the data; the receiver closes when it reads the end.
    socket.close();
    let timeout = Duration::from_millis(u64::from(TIMEOUT_MS));
    let mut scratch = [0u8; 16];
    match with_timeout(timeout, socket.read(&mut scratch)).await {
        Ok(Ok(0)) => exit(0),
        Ok(Ok(n)) => fail(format_args!("the receiver sent {n} bytes")),
        Ok(Err(e)) => fail(format_args!("{e:?}")),
        Err(_) => fail(format_args!(
            "the receiver did not close within {TIMEOUT_MS} ms"
        )),
    }
}
