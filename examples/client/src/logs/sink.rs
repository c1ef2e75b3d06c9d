//! The sink: one thread that decodes every record (one [`HeapDecoder`], nothing run), filters,
//! formats and prints it, and writes the stderr notes, in the order the listeners saw things.
//! A record that is not a pickled dict, or that names a global other than a standard value
//! type, cuts its sender off; a record that names a standard value type (`datetime`, ...) is
//! skipped with a note.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use brine_core::pickle::{Dict, Error, Escaped, HeapDecoder, Value};
use tokio::sync::mpsc;

use super::net::Event;
use super::record::{self, Formatter};
use crate::client::MESSAGE_OUTPUT_LIMIT;
use crate::Verbosity;

/// Modules of Python's value types: a record holding one the decoder does not decode as data
/// (`extra={'addr': ipaddress.ip_address('::1')}`; `datetime`, `Decimal`, `UUID` and the
/// other standard types of `pickle::objects` decode) is refused but is no attack, so only the
/// record is skipped.
const VALUE_TYPE_MODULES: &[&str] = &[
    "datetime",
    "decimal",
    "collections",
    "uuid",
    "fractions",
    "ipaddress",
    "pathlib",
    "enum",
];

/// What the sink prints and keeps.
pub struct Output {
    /// The text formatter, or `None` for `--format json`.
    pub formatter: Option<Formatter>,
    /// Colour each record by its level.
    pub color: bool,
    /// Keep records at or above this level.
    pub level: i64,
    /// Keep records of these loggers (and their children); empty: all.
    pub names: Vec<String>,
    /// `--record FILE`: every kept record as a JSON line.
    pub record: Option<BufWriter<File>>,
    /// Status notes on stderr.
    pub verbosity: Verbosity,
    /// Stop after this many records.
    pub count: Option<u64>,
}

/// Why the sink stopped.
pub enum Stop {
    /// `--count` records arrived.
    Count,
    /// Ctrl-C, after everything queued before it was printed.
    Interrupted,
    /// Every listener ended.
    Ended,
}

/// Totals for the closing note.
#[derive(Default)]
pub struct Totals {
    /// Records printed or filtered out.
    pub records: u64,
    /// Records skipped (too big, a standard type, a formatting error).
    pub skipped: u64,
    /// Senders cut off.
    pub cut: u64,
    /// Connections seen.
    pub connections: u64,
}

/// Handles events until `--count`, Ctrl-C or the end; stdout write errors end it too.
pub fn run(mut events: mpsc::Receiver<Event>, mut out: Output) -> io::Result<(Stop, Totals)> {
    let mut stdout = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let mut decoder = HeapDecoder::new();
    let mut totals = Totals::default();
    let mut line = String::new();
    let stop = loop {
        let Some(event) = events.blocking_recv() else {
            break Stop::Ended;
        };
        match event {
            Event::Opened(conn) => {
                totals.connections += 1;
                out.note(format_args!("connected: {}", conn.peer));
            }
            Event::Closed(conn, why) => {
                let n = conn.records.load(Ordering::Relaxed);
                match why {
                    None => out.note(format_args!("disconnected: {} ({n} records)", conn.peer)),
                    Some(why) => out.note(format_args!(
                        "disconnected: {}: {} ({n} records)",
                        conn.peer,
                        Escaped(&why)
                    )),
                }
            }
            Event::Oversize(conn, len) => {
                totals.skipped += 1;
                out.warn(format_args!(
                    "{}: skipped a record of {len} bytes (over --max-record); the connection goes on",
                    conn.peer
                ));
            }
            Event::Record(conn, bytes, _permit) => {
                if conn.is_cut() {
                    continue;
                }
                let kept = out.record(
                    &mut decoder,
                    &bytes,
                    (conn.peer, "cut off"),
                    &mut line,
                    &mut stdout,
                    &mut totals,
                )?;
                match kept {
                    Kept::Yes => {
                        conn.records.fetch_add(1, Ordering::Relaxed);
                    }
                    Kept::Skipped => {}
                    Kept::CutOff => {
                        totals.cut += 1;
                        conn.cut_off();
                    }
                }
            }
            Event::Datagram(peer, bytes, _permit) => match bytes.split_first_chunk::<4>() {
                Some((prefix, body)) if u32::from_be_bytes(*prefix) as usize == body.len() => {
                    let kept = out.record(
                        &mut decoder,
                        body,
                        (peer, "dropped its datagram"),
                        &mut line,
                        &mut stdout,
                        &mut totals,
                    )?;
                    if matches!(kept, Kept::CutOff) {
                        totals.skipped += 1;
                    }
                }
                _ => {
                    totals.skipped += 1;
                    out.warn(format_args!(
                            "{peer}: dropped a datagram of {} bytes: not a 4-byte length and a pickle of that length",
                            bytes.len()
                        ));
                }
            },
            Event::DatagramDropped(peer, why) => {
                totals.skipped += 1;
                out.warn(format_args!("{peer}: dropped a datagram: {why}"));
            }
            Event::Interrupted => break Stop::Interrupted,
        }
        if out.count.is_some_and(|n| totals.records >= n) {
            break Stop::Count;
        }
        // Flush when nothing else is waiting: whole bursts in one write, no record held back.
        if events.is_empty() {
            stdout.flush()?;
            if let Some(file) = out.record.as_mut() {
                file.flush()?;
            }
        }
    };
    stdout.flush()?;
    if let Some(file) = out.record.as_mut() {
        file.flush()?;
    }
    Ok((stop, totals))
}

/// What became of a record.
enum Kept {
    /// Printed or filtered out.
    Yes,
    /// Skipped with a note; its sender goes on.
    Skipped,
    /// Not a record: its sender is to be cut off.
    CutOff,
}

impl Output {
    /// Decodes, filters, formats and prints one record; `(peer, fault)`: its sender and what
    /// is done when it is not a record (`cut off`, or for UDP `dropped its datagram`).
    fn record(
        &mut self,
        decoder: &mut HeapDecoder,
        bytes: &[u8],
        (peer, fault): (SocketAddr, &str),
        line: &mut String,
        stdout: &mut impl Write,
        totals: &mut Totals,
    ) -> io::Result<Kept> {
        let record = match decoder.decode(bytes) {
            Ok(Value::Dict(record)) => record,
            Ok(other) => {
                self.warn(format_args!(
                    "{peer}: {fault}: a record is a pickled dict, got a {}",
                    other.type_name()
                ));
                return Ok(Kept::CutOff);
            }
            Err(Error::Refused {
                global: Some(global),
                ..
            }) if VALUE_TYPE_MODULES.contains(&global.module.as_str()) => {
                totals.skipped += 1;
                self.warn(format_args!(
                    "{peer}: skipped a record holding a {}.{} (a value type brine does not decode); the connection goes on",
                    global.module, global.name
                ));
                return Ok(Kept::Skipped);
            }
            Err(e) => {
                self.warn(format_args!("{peer}: {fault}: not a log record: {e}"));
                return Ok(Kept::CutOff);
            }
        };
        totals.records += 1;
        let fields = record::Record::new(record);
        let levelno = record::levelno(&fields);
        if levelno < self.level
            || (!self.names.is_empty()
                && !self.names.iter().any(|n| record::name_matches(&fields, n)))
        {
            return Ok(Kept::Yes);
        }
        let limit = bytes.len().saturating_mul(16).max(MESSAGE_OUTPUT_LIMIT);
        if let Some(file) = self.record.as_mut() {
            write_json(file, record, limit)?;
        }
        match self.formatter.as_mut() {
            None => write_json(stdout, record, limit)?,
            Some(formatter) => {
                line.clear();
                if let Err(why) = formatter.format(&fields, line, limit) {
                    totals.records -= 1;
                    totals.skipped += 1;
                    self.warn(format_args!(
                        "{peer}: cannot format a record: {}; the connection goes on",
                        Escaped(&why)
                    ));
                    return Ok(Kept::Skipped);
                }
                match self.color.then(|| color(levelno)).flatten() {
                    Some(code) => writeln!(stdout, "\x1b[{code}m{line}\x1b[0m")?,
                    None => writeln!(stdout, "{line}")?,
                }
            }
        }
        Ok(Kept::Yes)
    }

    /// A status note (not with `-q`).
    fn note(&self, args: std::fmt::Arguments<'_>) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("brine logs: {args}");
        }
    }

    /// A warning (always).
    fn warn(&self, args: std::fmt::Arguments<'_>) {
        eprintln!("brine logs: {args}");
    }
}

/// The record as one JSON line (every field), or `{"cut": why}` past `limit` bytes.
fn write_json(out: &mut impl Write, record: Dict<'_>, limit: usize) -> io::Result<()> {
    match brine_json::to_json_line(&Value::Dict(record), limit) {
        Ok(line) => writeln!(out, "{line}"),
        Err(why) => {
            let mut cut = String::from("{\"cut\":");
            let _ = brine_json::write_str(&mut cut, &why);
            writeln!(out, "{cut}}}")
        }
    }
}

/// The SGR colour of a level: DEBUG dim, INFO plain, WARNING yellow, ERROR red, CRITICAL
/// bold red.
fn color(levelno: i64) -> Option<&'static str> {
    match levelno {
        i64::MIN..=10 => Some("2"),
        11..=20 => None,
        21..=30 => Some("33"),
        31..=40 => Some("31"),
        _ => Some("1;31"),
    }
}
