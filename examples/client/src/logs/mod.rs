//! `brine logs`: a receiver for Python's `logging.handlers.SocketHandler` (TCP) and
//! `DatagramHandler` (UDP) that decodes each record without running anything and prints it as
//! `logging.Formatter` would.
//!
//! Listeners (net.rs, on a tokio runtime) read whole records and queue them; one sink thread
//! (sink.rs) decodes, filters, formats (record.rs, percent.rs, clock.rs) and prints them.

mod clock;
mod net;
mod percent;
mod record;
mod sink;

use std::fs::OpenOptions;
use std::io::{BufWriter, IsTerminal};
use std::net::SocketAddr;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, Semaphore};

use crate::{exit, Fail, Secs, Verbosity};
use net::{Event, Limits};
use sink::{Output, Stop};

/// `logging.handlers.DEFAULT_TCP_LOGGING_PORT`.
const TCP_PORT: u16 = 9020;
/// `logging.handlers.DEFAULT_UDP_LOGGING_PORT`.
const UDP_PORT: u16 = 9021;

/// `brine logs`' flags.
#[derive(Args, Debug)]
#[command(after_help = LOGS_HELP)]
pub struct LogsArgs {
    /// Where to listen: HOST:PORT, [IPV6]:PORT or a PORT on 127.0.0.1 [default:
    /// 127.0.0.1:9020, with --udp 127.0.0.1:9021]
    pub addr: Option<String>,

    /// Receive DatagramHandler's UDP datagrams instead of SocketHandler's TCP connections
    #[arg(long, conflicts_with = "both")]
    pub udp: bool,

    /// Receive both: TCP on ADDR and UDP on the same address (without ADDR: 9020 and 9021)
    #[arg(long)]
    pub both: bool,

    /// How each record is printed: Python's %-style logging format (every LogRecord attribute
    /// and extra= field by name; flags, width and precision as in Python)
    #[arg(long, value_name = "FORMAT", default_value = record::BASIC_FORMAT)]
    pub log_format: String,

    /// %(asctime)s as time.strftime(DATEFMT) [default: 2026-12-06 14:35:04,123]
    #[arg(long, value_name = "DATEFMT")]
    pub datefmt: Option<String>,

    /// Output: `text` (--log-format) or `json` (one object per record, every field)
    #[arg(long, value_enum, default_value_t = LogsFormat::Text)]
    pub format: LogsFormat,

    /// Only records at this level or above: a name (DEBUG, INFO, WARNING, ERROR, CRITICAL) or
    /// a number
    #[arg(long, value_parser = parse_level)]
    pub level: Option<i64>,

    /// Only records of this logger and its children (as logging.Filter); repeatable
    #[arg(long = "name", value_name = "LOGGER")]
    pub names: Vec<String>,

    /// Also append every printed record to FILE as a JSON line
    #[arg(long, value_name = "FILE")]
    pub record: Option<std::path::PathBuf>,

    /// Colour records by level: `auto` (on a terminal, unless NO_COLOR is set), `always`,
    /// `never`
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,

    /// Largest record kept, in bytes; a bigger one is skipped (its length prefix says how
    /// much) with a note, and its connection goes on
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub max_record: u32,

    /// Bytes of records received but not yet printed, over all senders (a sender waits,
    /// UDP datagrams are dropped, past it); at least --max-record
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub max_pending: u32,

    /// Connections open at once; more wait in the kernel's backlog
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_connections: u32,

    /// Seconds a sender may take for a record's length prefix, and for its body once brine
    /// has memory for it (0: no limit); it is cut off past them
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = crate::parse_secs)]
    pub timeout: Secs,

    /// Exit (status 0) after this many records
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

const LOGS_HELP: &str = "\
Python side:
  import logging, logging.handlers
  logging.getLogger().addHandler(logging.handlers.SocketHandler('127.0.0.1', 9020))

Records go to stdout; notes (listening, connected, disconnected, skipped, cut off) to stderr.
Nothing in a record is ever run: a sender of a pickle that is not a record (garbage, a
code-running pickle) is cut off with a note naming it, and the others go on.
Ctrl-C prints every record that arrived whole, then exits 130.";

/// `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogsFormat {
    /// --log-format, as logging.Formatter writes it
    Text,
    /// One JSON object per record with every field
    Json,
}

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// On a terminal, unless NO_COLOR is set
    Auto,
    /// Always
    Always,
    /// Never
    Never,
}

/// A level name or number, as `logging.getLevelName` maps them.
fn parse_level(s: &str) -> Result<i64, String> {
    Ok(match s.to_ascii_uppercase().as_str() {
        "NOTSET" => 0,
        "DEBUG" => 10,
        "INFO" => 20,
        "WARNING" | "WARN" => 30,
        "ERROR" => 40,
        "CRITICAL" | "FATAL" => 50,
        _ => s.parse().map_err(|_| {
            format!("expected DEBUG, INFO, WARNING, ERROR, CRITICAL or a number, got '{s}'")
        })?,
    })
}

/// HOST:PORT, [V6]:PORT or PORT.
fn parse_addr(s: &str, default_port: u16) -> Result<SocketAddr, Fail> {
    let usage = |why: String| Fail::new(exit::USAGE, why);
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let with_port = if s.contains(':') {
        s.to_owned()
    } else {
        format!("{s}:{default_port}")
    };
    std::net::ToSocketAddrs::to_socket_addrs(&with_port)
        .map_err(|e| usage(format!("cannot listen on '{s}': {e}")))?
        .next()
        .ok_or_else(|| usage(format!("'{s}' resolves to no address")))
}

/// Runs `brine logs` until Ctrl-C (exit 130) or `--count` records (exit 0).
pub fn run(args: &LogsArgs, verbosity: Verbosity) -> Result<(), Fail> {
    let formatter = match args.format {
        LogsFormat::Text => Some(
            record::Formatter::new(&args.log_format, args.datefmt.as_deref())
                .map_err(|e| Fail::new(exit::USAGE, e))?,
        ),
        LogsFormat::Json => None,
    };
    if args.max_pending < args.max_record.saturating_add(1) {
        return Err(Fail::new(
            exit::USAGE,
            "--max-pending must be more than --max-record",
        ));
    }
    let (tcp, udp) = match (&args.addr, args.udp, args.both) {
        (Some(a), udp, both) => {
            let addr = parse_addr(a, if udp { UDP_PORT } else { TCP_PORT })?;
            ((!udp).then_some(addr), (udp || both).then_some(addr))
        }
        (None, true, _) => (None, Some(SocketAddr::from(([127, 0, 0, 1], UDP_PORT)))),
        (None, false, both) => (
            Some(SocketAddr::from(([127, 0, 0, 1], TCP_PORT))),
            both.then(|| SocketAddr::from(([127, 0, 0, 1], UDP_PORT))),
        ),
    };
    let record_file = match &args.record {
        Some(path) => Some(BufWriter::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    Fail::new(
                        exit::FAILURE,
                        format!("cannot open {}: {e}", path.display()),
                    )
                })?,
        )),
        None => None,
    };
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    // One file descriptor per sender.
    let _ = rlimit::increase_nofile_limit(u64::from(args.max_connections) + 64);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("brine-logs")
        .build()
        .map_err(|e| Fail::new(exit::FAILURE, format!("cannot start the runtime: {e}")))?;
    let limits = Limits {
        max_record: args.max_record,
        pending: Arc::new(Semaphore::new(args.max_pending as usize)),
        connections: Arc::new(Semaphore::new(args.max_connections as usize)),
        timeout: args.timeout.0,
    };
    let (events, queue) = mpsc::channel::<Event>(4096);
    runtime.block_on(async {
        if let Some(addr) = tcp {
            let listener = TcpListener::bind(addr).await.map_err(|e| {
                Fail::new(exit::CONNECT, format!("cannot listen on tcp {addr}: {e}"))
            })?;
            let local = listener.local_addr().unwrap_or(addr);
            eprintln!("brine logs: listening on tcp {local}");
            tokio::spawn(net::accept(listener, limits.clone(), events.clone()));
        }
        if let Some(addr) = udp {
            let socket = UdpSocket::bind(addr).await.map_err(|e| {
                Fail::new(exit::CONNECT, format!("cannot listen on udp {addr}: {e}"))
            })?;
            let local = socket.local_addr().unwrap_or(addr);
            eprintln!("brine logs: listening on udp {local}");
            tokio::spawn(net::receive(socket, limits.clone(), events.clone()));
        }
        let interrupts = events.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = interrupts.send(Event::Interrupted).await;
            }
        });
        Ok::<(), Fail>(())
    })?;
    drop(events);
    let output = Output {
        formatter,
        color,
        level: args.level.unwrap_or(i64::MIN),
        names: args.names.clone(),
        record: record_file,
        verbosity,
        count: args.count,
    };
    let result = sink::run(queue, output);
    // Connections still open: close them without waiting.
    runtime.shutdown_background();
    let (stop, totals) = result.map_err(|e| Fail::io("write the records", e))?;
    if verbosity >= Verbosity::Normal {
        eprintln!(
            "brine logs: {} records from {} connection{}; {} skipped, {} senders cut off",
            totals.records,
            totals.connections,
            if totals.connections == 1 { "" } else { "s" },
            totals.skipped,
            totals.cut
        );
    }
    match stop {
        Stop::Interrupted => Err(Fail::new(exit::INTERRUPTED, "interrupted (Ctrl-C)")),
        Stop::Count | Stop::Ended => Ok(()),
    }
}
