//! `brine load HOST:PORT --clients N --duration S`: N concurrent lab clients from one process,
//! to see how a server copes with a class (or a school) connecting at once.
//!
//! Each client is a tokio task running the core's async client over the tokio adapter, with
//! small buffers and a small decoder (about 4 KiB, see [`LoadClient`]): it connects, waits
//! for its id, sends a generated identity and then listens, as the lab client does, until
//! the server closes or the run ends. Connects are paced (`--connecting`, `--rate`) so that
//! thousands of SYNs do not overflow the server's listen queue, which on loopback turns into
//! one-second retransmission stalls, not a measure of the server.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use brine_adapters::tcp::{self, ConnectOptions, Target, Timeouts};
use brine_adapters::tokio_tcp::{self, SmallClient};
use brine_core::pickle::Protocol;
use brine_core::session::{self, Event};
use clap::{Args, ValueEnum};
use tokio::sync::Semaphore;

use crate::identity::{identity, IdentityArgs};
use crate::{exit, parse_secs, Fail, Secs, Verbosity};

/// A load client: 1024-byte receive and 512-byte transmit buffers, a decoder for 64 values
/// (ids, acks and small messages; a larger message is skipped and counted). About 4 KiB
/// instead of the default client's 36 KiB, which is what lets 10,000 of them fit in
/// well under 150 MB.
pub type LoadClient = SmallClient;

/// `brine load`'s flags.
#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// HOST:PORT, HOST (port 12000) or PORT (127.0.0.1:PORT)
    #[arg(default_value = "127.0.0.1:12000")]
    pub server: String,

    /// The identity each client sends: `brine`'s flags, with the same keys and defaults;
    /// a flag not given is generated per client (`brine load N`, `loadN@example.invalid`,
    /// `N` as nine digits, `brine-load-N`).
    #[command(flatten)]
    pub identity: IdentityArgs,

    /// Clients to run at once
    #[arg(long, short = 'n', value_name = "N", default_value_t = 100)]
    pub clients: usize,

    /// Seconds the whole run lasts
    ///
    /// Clients connect (paced), then hold their connections until this much time has passed
    /// since the start.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    pub duration: Secs,

    /// At most N clients connecting or in the handshake at once
    ///
    /// Connect pacing: thousands of SYNs at once overflow the server's listen queue.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub connecting: usize,

    /// At most PER_SEC new connections a second (0: no limit)
    #[arg(long, value_name = "PER_SEC", default_value_t = 0.0)]
    pub rate: f64,

    /// Seconds to connect, then to get the id (0: none)
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    pub timeout: Secs,

    /// Pickle protocol of the identities (0-5)
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(0..=5))]
    pub protocol: u8,

    /// The report on stdout: text or json
    #[arg(long, value_enum, default_value_t = LoadFormat::Text, hide_possible_values = true)]
    pub format: LoadFormat,
}

/// How the report is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LoadFormat {
    /// Lines for a person
    Text,
    /// One JSON object
    Json,
}

/// Why a client failed, as counted in the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Cause {
    /// Connection refused (nothing listens, or the listen queue overflowed).
    Refused,
    /// Connecting took longer than --timeout.
    ConnectTimeout,
    /// No client id within --timeout.
    HandshakeTimeout,
    /// The server closed before sending an id (a full server rejects so).
    ClosedBeforeId,
    /// Any other protocol error.
    Protocol,
    /// Reset by the server.
    Reset,
    /// This process ran out of file descriptors.
    TooManyOpenFiles,
    /// No local port left (EADDRNOTAVAIL).
    NoLocalPort,
    /// Another connect error.
    Connect,
    /// Another I/O error.
    Io,
    /// The run ended before the handshake finished.
    CutOff,
    /// The run ended before the client started.
    NotStarted,
}

impl Cause {
    const ALL: [Cause; 12] = [
        Cause::Refused,
        Cause::ConnectTimeout,
        Cause::HandshakeTimeout,
        Cause::ClosedBeforeId,
        Cause::Protocol,
        Cause::Reset,
        Cause::TooManyOpenFiles,
        Cause::NoLocalPort,
        Cause::Connect,
        Cause::Io,
        Cause::CutOff,
        Cause::NotStarted,
    ];

    fn name(self) -> &'static str {
        match self {
            Cause::Refused => "refused",
            Cause::ConnectTimeout => "connect_timeout",
            Cause::HandshakeTimeout => "handshake_timeout",
            Cause::ClosedBeforeId => "closed_before_id",
            Cause::Protocol => "protocol",
            Cause::Reset => "reset",
            Cause::TooManyOpenFiles => "too_many_open_files",
            Cause::NoLocalPort => "no_local_port",
            Cause::Connect => "connect_error",
            Cause::Io => "io",
            Cause::CutOff => "cut_off_by_duration",
            Cause::NotStarted => "not_started",
        }
    }

    fn of(error: &tcp::Error) -> Cause {
        use std::io::ErrorKind as Io;
        match error {
            tcp::Error::Refused { .. } => Cause::Refused,
            tcp::Error::ConnectTimeout { .. } => Cause::ConnectTimeout,
            tcp::Error::Timeout { .. } | tcp::Error::Idle { .. } => Cause::HandshakeTimeout,
            tcp::Error::Protocol(session::Error::Peer(
                session::PeerFault::ClosedBeforeClientId,
            )) => Cause::ClosedBeforeId,
            tcp::Error::Protocol(_) => Cause::Protocol,
            tcp::Error::Connect { source, .. } | tcp::Error::Io(source) => {
                match (source.raw_os_error(), source.kind()) {
                    // EMFILE, ENFILE (Linux numbering; elsewhere they fall under the kinds).
                    (Some(24 | 23), _) => Cause::TooManyOpenFiles,
                    (_, Io::AddrNotAvailable) => Cause::NoLocalPort,
                    (_, Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe) => {
                        Cause::Reset
                    }
                    _ if matches!(error, tcp::Error::Connect { .. }) => Cause::Connect,
                    _ => Cause::Io,
                }
            }
            _ => Cause::Connect,
        }
    }
}

/// Live counters, read by the progress line.
#[derive(Default)]
struct Counters {
    started: AtomicU64,
    connected: AtomicU64,
    handshaken: AtomicU64,
    failed: AtomicU64,
    lost: AtomicU64,
}

/// How one client's run ended.
#[derive(Debug, Default)]
struct Outcome {
    /// Connect start to identity sent.
    latency: Option<Duration>,
    /// When the handshake completed (since the start of the run).
    done_at: Option<Duration>,
    /// The handshake failed.
    failure: Option<Cause>,
    /// After the handshake: lost with this cause.
    lost: Option<Cause>,
    /// The server closed in order after the handshake.
    closed: bool,
    /// ... and had sent nothing after the identity.
    closed_without_a_word: bool,
    /// Messages received after the handshake (acks included), and skipped.
    messages: u64,
    skipped: u64,
}

/// Runs `brine load`.
pub fn run(args: &LoadArgs, verbosity: Verbosity) -> Result<(), Fail> {
    let protocol = Protocol::from_u8(args.protocol)
        .ok_or_else(|| Fail::new(exit::USAGE, "the protocol must be 0 to 5"))?;
    if args.clients == 0 || args.connecting == 0 {
        return Err(Fail::new(
            exit::USAGE,
            "--clients and --connecting must be at least 1",
        ));
    }
    if !(args.rate >= 0.0 && args.rate.is_finite()) {
        return Err(Fail::new(exit::USAGE, "--rate must be 0 or more"));
    }
    let Some(duration) = args.duration.0 else {
        return Err(Fail::new(exit::USAGE, "--duration must be more than 0"));
    };
    // The identity pickles and fits the lab's 4096 bytes (a generated one is small).
    crate::identity::identity_repr(&client_identity(&args.identity, 0), protocol)?;
    // Resolve once: every client connects to the same address, without a lookup each.
    let target = Target::parse(&args.server, tcp::DEFAULT_PORT).map_err(crate::client::fail)?;
    let addr = *target
        .resolve()
        .map_err(crate::client::fail)?
        .first()
        .ok_or_else(|| Fail::new(exit::CONNECT, "the server resolves to no address"))?;

    // One file descriptor per client (and a few for the runtime).
    let open_files = rlimit::increase_nofile_limit(u64::MAX).ok();
    if let Some(limit) = open_files {
        if limit < args.clients as u64 + 32 && verbosity >= Verbosity::Normal {
            eprintln!(
                "brine load: warning: the open-file limit is {limit} (the hard limit), too few \
                 for {} clients; the rest will fail with too_many_open_files",
                args.clients
            );
        }
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("brine-load")
        .build()
        .map_err(|e| Fail::new(exit::FAILURE, format!("cannot start the runtime: {e}")))?;
    let report = runtime.block_on(drive(args, addr, protocol, duration, verbosity));
    // Tasks still open hold sockets: close them without waiting.
    runtime.shutdown_background();

    let report = Report {
        open_files,
        peak_rss: peak_rss(),
        ..report
    };
    report.print(args, addr)?;
    if report.handshaken == args.clients as u64 {
        Ok(())
    } else {
        Err(Fail::new(
            exit::FAILURE,
            format!(
                "{} of {} clients did not complete the handshake",
                args.clients as u64 - report.handshaken,
                args.clients
            ),
        ))
    }
}

/// What the run measured.
#[derive(Debug, Default)]
struct Report {
    elapsed: Duration,
    handshaken: u64,
    /// First connect start to last handshake.
    handshake_span: Duration,
    latencies: Vec<Duration>,
    failures: Vec<(Cause, u64)>,
    lost: Vec<(Cause, u64)>,
    held: u64,
    closed: u64,
    /// Of `closed`: right after the identity, without a word.
    closed_after_identity: u64,
    messages: u64,
    skipped: u64,
    open_files: Option<u64>,
    peak_rss: Option<u64>,
}

async fn drive(
    args: &LoadArgs,
    addr: std::net::SocketAddr,
    protocol: Protocol,
    duration: Duration,
    verbosity: Verbosity,
) -> Report {
    let start = Instant::now();
    let end = tokio::time::Instant::from_std(start + duration);
    let counters = Arc::new(Counters::default());
    let connecting = Arc::new(Semaphore::new(args.connecting));
    let shared = Arc::new(Shared {
        address: addr.to_string(),
        options: ConnectOptions::new().timeout(args.timeout.0),
        identity: args.identity.clone(),
    });
    let reply = args.timeout.0;

    let progress = (verbosity >= Verbosity::Normal).then(|| {
        tokio::spawn(progress_line(
            Arc::clone(&counters),
            start,
            args.clients as u64,
        ))
    });

    let mut pace = (args.rate > 0.0).then(|| {
        let mut interval = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval
    });
    let mut tasks = Vec::with_capacity(args.clients);
    for n in 0..args.clients {
        let ready = async {
            if let Some(pace) = pace.as_mut() {
                pace.tick().await;
            }
            Arc::clone(&connecting).acquire_owned().await
        };
        let permit = tokio::select! {
            permit = ready => permit.expect("the semaphore is never closed"),
            _ = tokio::time::sleep_until(end) => break,
        };
        counters.started.fetch_add(1, Ordering::Relaxed);
        let client = One {
            n,
            shared: Arc::clone(&shared),
            reply,
            protocol,
            start,
            end,
            counters: Arc::clone(&counters),
        };
        tasks.push(tokio::spawn(client.run(permit)));
    }

    let mut report = Report::default();
    let mut failures = std::collections::BTreeMap::new();
    let mut lost = std::collections::BTreeMap::new();
    let not_started = (args.clients - tasks.len()) as u64;
    if not_started > 0 {
        failures.insert(Cause::NotStarted, not_started);
    }
    let mut first_done = None::<Duration>;
    let mut last_done = Duration::ZERO;
    for task in tasks {
        // A task that panicked is a bug in brine: count it as an I/O failure, keep going.
        let outcome = task.await.unwrap_or_else(|_| Outcome {
            failure: Some(Cause::Io),
            ..Outcome::default()
        });
        if let Some(latency) = outcome.latency {
            report.handshaken += 1;
            report.latencies.push(latency);
        }
        if let Some(done) = outcome.done_at {
            first_done = Some(first_done.map_or(done, |f| f.min(done)));
            last_done = last_done.max(done);
        }
        if let Some(cause) = outcome.failure {
            *failures.entry(cause).or_insert(0u64) += 1;
        }
        match (outcome.lost, outcome.closed) {
            (Some(cause), _) => *lost.entry(cause).or_insert(0u64) += 1,
            (None, true) => {
                report.closed += 1;
                report.closed_after_identity += u64::from(outcome.closed_without_a_word);
            }
            (None, false) if outcome.latency.is_some() => report.held += 1,
            _ => {}
        }
        report.messages += outcome.messages;
        report.skipped += outcome.skipped;
    }
    report.elapsed = start.elapsed();
    report.handshake_span = last_done;
    report.latencies.sort_unstable();
    report.failures = failures.into_iter().collect();
    report.lost = lost.into_iter().collect();
    if let Some(progress) = progress {
        progress.abort();
        let _ = progress.await;
        if std::io::stderr().is_terminal() {
            eprintln!();
        }
    }
    report
}

/// What every client's task reads: one copy, shared (a task's state stays small).
#[derive(Default)]
struct Shared {
    address: String,
    options: ConnectOptions,
    identity: IdentityArgs,
}

/// One client's task.
struct One {
    n: usize,
    shared: Arc<Shared>,
    reply: Option<Duration>,
    protocol: Protocol,
    start: Instant,
    end: tokio::time::Instant,
    counters: Arc<Counters>,
}

impl One {
    async fn run(self, permit: tokio::sync::OwnedSemaphorePermit) -> Outcome {
        let mut outcome = Outcome::default();
        let began = Instant::now();
        // Connect, then make the client: the connect future and the client are never alive
        // together, so the task's future stays small (it is most of a client's memory).
        let connected = tokio::select! {
            result = tokio_tcp::connect(&self.shared.address, &self.shared.options) => Some(result),
            _ = tokio::time::sleep_until(self.end) => None,
        };
        let stream = match connected {
            Some(Ok(stream)) => stream,
            Some(Err(error)) => return self.failed(outcome, Cause::of(&error)),
            None => return self.failed(outcome, Cause::CutOff),
        };
        self.counters.connected.fetch_add(1, Ordering::Relaxed);
        // One client variable for the whole task, so the future holds one client.
        let mut client = LoadClient::with_storage(stream, Timeouts::new(self.reply));
        client.set_protocol(self.protocol);
        let handshake = tokio::select! {
            result = self.handshake(&mut client) => Some(result),
            _ = tokio::time::sleep_until(self.end) => None,
        };
        drop(permit);
        match handshake {
            Some(Ok(())) => {}
            Some(Err(error)) => return self.failed(outcome, Cause::of(&error)),
            None => return self.failed(outcome, Cause::CutOff),
        }
        outcome.latency = Some(began.elapsed());
        outcome.done_at = Some(self.start.elapsed());
        self.counters.handshaken.fetch_add(1, Ordering::Relaxed);

        // Listen until the server closes or the run ends (`next_event` is cancel-safe).
        loop {
            let event = tokio::select! {
                event = client.next_event() => event,
                _ = tokio::time::sleep_until(self.end) => break,
            };
            match event {
                Ok(Event::Message(_)) => outcome.messages += 1,
                Ok(Event::Skipped { .. }) => outcome.skipped += 1,
                Ok(Event::Closed) => {
                    outcome.closed = true;
                    outcome.closed_without_a_word = outcome.messages + outcome.skipped == 0;
                    break;
                }
                Ok(_) => {}
                Err(error) => {
                    outcome.lost = Some(Cause::of(&error));
                    self.counters.lost.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
        }
        outcome
    }
}

impl One {
    /// Sends this client's identity once its id arrived.
    async fn handshake(&self, client: &mut LoadClient) -> Result<(), tcp::Error> {
        let identity = client_identity(&self.shared.identity, self.n);
        client.handshake(&identity).await.map(drop)
    }

    fn failed(&self, mut outcome: Outcome, cause: Cause) -> Outcome {
        outcome.failure = Some(cause);
        self.counters.failed.fetch_add(1, Ordering::Relaxed);
        outcome
    }
}

/// Client `n`'s identity: the flags given, the others generated from `n`.
fn client_identity(flags: &IdentityArgs, n: usize) -> brine_json::Python {
    let mut flags = flags.clone();
    flags.name.get_or_insert_with(|| format!("brine load {n}"));
    flags
        .email
        .get_or_insert_with(|| format!("load{n}@example.invalid"));
    flags.student_id.get_or_insert_with(|| format!("{n:09}"));
    flags
        .github
        .get_or_insert_with(|| format!("brine-load-{n}"));
    identity(&flags)
}

/// The live progress line on stderr: redrawn in place on a terminal (5 times a second),
/// otherwise one line a second.
async fn progress_line(counters: Arc<Counters>, start: Instant, clients: u64) {
    let terminal = std::io::stderr().is_terminal();
    let period = Duration::from_millis(if terminal { 200 } else { 1000 });
    let mut tick = tokio::time::interval(period);
    tick.tick().await;
    let mut last = (Instant::now(), 0u64);
    loop {
        tick.tick().await;
        let now = Instant::now();
        let handshaken = counters.handshaken.load(Ordering::Relaxed);
        let rate = (handshaken - last.1) as f64 / now.duration_since(last.0).as_secs_f64();
        last = (now, handshaken);
        let started = counters.started.load(Ordering::Relaxed);
        let connected = counters.connected.load(Ordering::Relaxed);
        let failed = counters.failed.load(Ordering::Relaxed);
        let lost = counters.lost.load(Ordering::Relaxed);
        let line = format!(
            "{:6.1} s  started {started}/{clients}  connected {connected}  handshaken {handshaken}  \
             failed {failed}  lost {lost}  {rate:.0} handshakes/s",
            start.elapsed().as_secs_f64()
        );
        let mut err = std::io::stderr().lock();
        let _ = if terminal {
            write!(err, "\r\x1b[2K{line}")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
    }
}

/// This process's peak resident set (Linux: `VmHWM` in /proc/self/status), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The `q`-quantile of sorted `values` (nearest rank).
fn quantile(values: &[Duration], q: f64) -> Option<Duration> {
    if values.is_empty() {
        return None;
    }
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    Some(values[rank - 1])
}

fn ms(d: Option<Duration>) -> Option<f64> {
    d.map(|d| (d.as_secs_f64() * 1e6).round() / 1e3)
}

/// The shortest span a handshake rate is computed over: a rate from one handshake, or from a
/// few within milliseconds, measures nothing.
const MIN_RATE_SPAN: Duration = Duration::from_millis(100);

impl Report {
    /// Handshakes per second over the span from the first connect to the last handshake;
    /// `None` for fewer than 2 handshakes or a span under [`MIN_RATE_SPAN`].
    fn rate(&self) -> Option<f64> {
        let span = self.handshake_span;
        (self.handshaken >= 2 && span >= MIN_RATE_SPAN)
            .then(|| self.handshaken as f64 / span.as_secs_f64())
    }

    /// A server that completed one handshake while other clients, connected, waited for
    /// their id until they timed out: it serves clients one at a time.
    fn one_at_a_time(&self) -> bool {
        let waited = self
            .failures
            .iter()
            .any(|(c, n)| *c == Cause::HandshakeTimeout && *n > 0);
        self.handshaken == 1 && waited
    }

    fn print(&self, args: &LoadArgs, addr: std::net::SocketAddr) -> Result<(), Fail> {
        let p50 = quantile(&self.latencies, 0.50);
        let p99 = quantile(&self.latencies, 0.99);
        let max = self.latencies.last().copied();
        let failed: u64 = self.failures.iter().map(|(_, n)| n).sum();
        let text = match args.format {
            LoadFormat::Json => {
                let counts = |list: &[(Cause, u64)]| {
                    let mut map = serde_json::Map::new();
                    for cause in Cause::ALL {
                        if let Some((_, n)) = list.iter().find(|(c, _)| *c == cause) {
                            map.insert(cause.name().into(), (*n).into());
                        }
                    }
                    serde_json::Value::Object(map)
                };
                serde_json::json!({
                    "server": addr.to_string(),
                    "clients": args.clients,
                    "duration_s": args.duration.0.map(|d| d.as_secs_f64()),
                    "elapsed_s": self.elapsed.as_secs_f64(),
                    "handshakes": self.handshaken,
                    "failed": failed,
                    "failures": counts(&self.failures),
                    "handshakes_per_s": self.rate().map(|r| (r * 10.0).round() / 10.0),
                    "serves_one_at_a_time": self.one_at_a_time(),
                    "handshake_span_s": self.handshake_span.as_secs_f64(),
                    "latency_ms": {"p50": ms(p50), "p99": ms(p99), "max": ms(max)},
                    "held_to_end": self.held,
                    "closed_by_server": self.closed,
                    "closed_after_identity": self.closed_after_identity,
                    "lost": counts(&self.lost),
                    "messages": self.messages,
                    "skipped": self.skipped,
                    "open_file_limit": self.open_files,
                    "peak_rss_bytes": self.peak_rss,
                })
                .to_string()
            }
            LoadFormat::Text => {
                let list = |list: &[(Cause, u64)]| {
                    if list.is_empty() {
                        "none".to_owned()
                    } else {
                        list.iter()
                            .map(|(c, n)| format!("{} {n}", c.name()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                };
                let show = |d: Option<f64>| d.map_or("-".to_owned(), |ms| format!("{ms:.1} ms"));
                let mut lines = vec![
                    format!(
                        "brine load: {} clients against {addr} for {} s (open-file limit {})",
                        args.clients,
                        args.duration.0.unwrap_or_default().as_secs_f64(),
                        self.open_files
                            .map_or("unknown".to_owned(), |l| l.to_string())
                    ),
                    format!(
                        "handshakes   {} of {} in {:.2} s: {}",
                        self.handshaken,
                        args.clients,
                        self.handshake_span.as_secs_f64(),
                        self.rate().map_or_else(
                            || "too few or too quick for a rate".to_owned(),
                            |r| format!("{r:.0} handshakes/s")
                        )
                    ),
                    format!(
                        "latency      p50 {}, p99 {}, max {} (connect to identity sent)",
                        show(ms(p50)),
                        show(ms(p99)),
                        show(ms(max))
                    ),
                    format!("failures     {}", list(&self.failures)),
                    format!(
                        "after        {} held to the end, {} closed by the server{}, lost: {}",
                        self.held,
                        self.closed,
                        match self.closed_after_identity {
                            0 => String::new(),
                            n => format!(" ({n} right after the identity without a word)"),
                        },
                        list(&self.lost)
                    ),
                    format!(
                        "messages     {} received, {} skipped",
                        self.messages, self.skipped
                    ),
                ];
                if self.closed_after_identity > 0 {
                    lines.push(format!(
                        "hint         closed right after the identity without a word: the server \
                         may expect other keys (sent: {}; see --keys)",
                        crate::identity::keys_repr(&client_identity(&args.identity, 0))
                    ));
                }
                if self.one_at_a_time() {
                    lines.push(
                        "server       serves one client at a time: it completed 1 handshake \
                         while the other clients waited for their id until --timeout"
                            .to_owned(),
                    );
                }
                if let Some(rss) = self.peak_rss {
                    lines.push(format!(
                        "peak RSS     {:.1} MB (this process)",
                        rss as f64 / 1e6
                    ));
                }
                lines.join("\n")
            }
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{text}")
            .and_then(|()| out.flush())
            .map_err(|e| Fail::io("write to stdout", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&v, 0.5), Some(Duration::from_millis(50)));
        assert_eq!(quantile(&v, 0.99), Some(Duration::from_millis(99)));
        assert_eq!(quantile(&v[..1], 0.99), Some(Duration::from_millis(1)));
        assert_eq!(quantile(&[], 0.5), None);
    }

    /// A client's memory is mostly its task's future: keep it small (10,000 of them run in
    /// one process). 4,296 bytes: brine-core's `alloc` feature (which `brine pickle decode`'s
    /// `HeapDecoder` needs) makes arena ids 32-bit, about 1 KiB more than the 16-bit ones.
    #[test]
    fn a_client_task_is_small() {
        assert!(
            std::mem::size_of::<LoadClient>() <= 4400,
            "{}",
            std::mem::size_of::<LoadClient>()
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let permit = Arc::new(Semaphore::new(1)).acquire_owned().await.unwrap();
            let one = One {
                n: 0,
                shared: Arc::default(),
                reply: None,
                protocol: Protocol::V4,
                start: Instant::now(),
                end: tokio::time::Instant::now(),
                counters: Arc::default(),
            };
            let task = one.run(permit);
            // 6,176 bytes on x86_64 since the session holds its framing (a Deframer, +32).
            let size = std::mem::size_of_val(&task);
            assert!(size <= 6 * 1024 + 32, "{size}");
        });
    }
}
