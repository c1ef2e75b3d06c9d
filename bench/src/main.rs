//! brine-bench: end-to-end benchmarks on loopback (issue 8), driven by `bench/run`.
//!
//! - `throughput`: a dedicated streaming server (a thread of this process) sends
//!   `{'clientid': 1}`, reads the identity, then writes the same pickled message N times in
//!   256 KiB writes and closes. Each client times itself from the end of its handshake to the
//!   end of the stream. Clients: brine blocking (std `TcpStream` via brine-adapters; one
//!   `next_event` call per message, and `run`: every complete message of a read handed to a
//!   closure in one loop), brine async (tokio, current-thread runtime), the Python lab loop (`recv(4096)` +
//!   `pickle.loads`), a correct framed Python client (`pickle.Unpickler` over a buffered
//!   socket file), and the limit: a plain Rust `TcpStream` read-and-discard loop, with
//!   4 KiB reads (brine's receive buffer) and with 64 KiB reads.
//! - `handshake`: sequential handshakes against a running `brine-server` (brine blocking
//!   client, the Python lab client) and the limit (connect + one 64-byte ping-pong against an
//!   echo server thread).
//! - `sweep`: throughput against message size (str pickles of 64 B to 4 KiB), with a PNG plot.
//!
//! Every benchmark runs its competitors interleaved, in rounds whose order rotates, and reports
//! medians. A ratio to the read-and-discard limit is the median of the rounds' ratios, each
//! against the limit's run of the same round (the limit's own rate swings with the machine's
//! load far more than brine's).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Instant;

use brine_adapters::tcp::{self, ConnectOptions};
use brine_core::pickle::{to_slice, Protocol};
use brine_core::session::{Event, Session};
use serde::Serialize;

mod handshake;
use handshake::handshakes;

const PY_CLIENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/py_clients.py");

#[derive(Serialize)]
struct ClientIdMsg {
    clientid: i64,
}

#[derive(Serialize)]
struct BenchIdentity<'a> {
    name: &'a str,
    email: &'a str,
}

const IDENTITY: BenchIdentity<'static> = BenchIdentity {
    name: "bench",
    email: "bench@example.invalid",
};

/// The ~100-byte dict of the throughput benchmark.
#[derive(Serialize)]
struct Reading<'a> {
    sensor: &'a str,
    seq: u32,
    temperature: f64,
    ok: bool,
    tags: [&'a str; 2],
}

fn pickle<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut buf = vec![0u8; 16384];
    let n = to_slice(value, &mut buf, Protocol::V4)
        .expect("pickle")
        .len();
    buf.truncate(n);
    buf
}

/// The ack string, pickled protocol 4 (34 bytes, as CPython's `pickle.dumps`).
pub fn ack_pickle() -> Vec<u8> {
    pickle("Server got the data")
}

/// A dict of about 100 bytes, pickled protocol 4.
pub fn dict_pickle() -> Vec<u8> {
    pickle(&Reading {
        sensor: "greenhouse-7",
        seq: 123_456,
        temperature: 21.5,
        ok: true,
        tags: ["north", "shelf-2"],
    })
}

/// A pickled str whose pickle is exactly `size` bytes (or just under, when the opcode
/// lengths jump).
pub fn str_pickle(size: usize) -> Vec<u8> {
    let mut len = size;
    loop {
        let p = pickle("x".repeat(len).as_str());
        if p.len() <= size || len == 0 {
            return p;
        }
        len -= 1;
    }
}

// ---------------------------------------------------------------------------------------
// The streaming server

/// Listens on 127.0.0.1:0 and serves one client: id, identity, `count` copies of `message`,
/// close. Returns the address and the server's thread.
fn stream_server(message: Vec<u8>, count: usize) -> (String, thread::JoinHandle<io::Result<()>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let handle = thread::spawn(move || {
        let (mut s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        s.write_all(&pickle(&ClientIdMsg { clientid: 1 }))?;
        // The identity: one small pickle, in one write; it ends with STOP.
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf)?;
            if n == 0 || buf[n - 1] == b'.' {
                break;
            }
        }
        let per_chunk = (256 * 1024 / message.len()).max(1);
        let chunk: Vec<u8> = message.repeat(per_chunk);
        let mut left = count;
        while left >= per_chunk {
            s.write_all(&chunk)?;
            left -= per_chunk;
        }
        s.write_all(&chunk[..left * message.len()])?;
        s.shutdown(Shutdown::Write)?;
        // Drain until the client closes, so that closing never resets the connection.
        while s.read(&mut buf)? > 0 {}
        Ok(())
    });
    (addr, handle)
}

/// What one client run measured.
#[derive(Clone, Copy, Debug, Default)]
pub struct Outcome {
    /// Messages decoded (for the limit: bytes / message length).
    pub messages: u64,
    /// Chunks whose decoding failed, or messages skipped.
    pub errors: u64,
    /// From the end of the handshake to the end of the stream.
    pub seconds: f64,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.messages as f64 / self.seconds
    }
}

/// The clients of the throughput benchmarks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Competitor {
    Limit64K,
    Limit4K,
    BrineBlocking,
    BrineRun,
    BrineAsync,
    PythonFramed,
    PythonLab,
}

impl Competitor {
    const ALL: [Competitor; 7] = [
        Competitor::Limit64K,
        Competitor::Limit4K,
        Competitor::BrineBlocking,
        Competitor::BrineRun,
        Competitor::BrineAsync,
        Competitor::PythonFramed,
        Competitor::PythonLab,
    ];

    fn label(self) -> &'static str {
        match self {
            Competitor::Limit64K => "limit: Rust TcpStream read+discard, 64 KiB reads",
            Competitor::Limit4K => "limit: Rust TcpStream read+discard, 4 KiB reads",
            Competitor::BrineBlocking => {
                "brine blocking `next_event` (std TcpStream, every message a Value)"
            }
            Competitor::BrineRun => {
                "brine blocking `run` (every message of a read to a closure in one loop)"
            }
            Competitor::BrineAsync => "brine async (tokio current-thread)",
            Competitor::PythonFramed => "Python framed (Unpickler over a buffered socket)",
            Competitor::PythonLab => "Python lab loop (recv(4096) + pickle.loads)",
        }
    }
}

/// Runs one client of `competitor` against a fresh streaming server.
pub fn run_one(competitor: Competitor, message: &[u8], count: usize) -> io::Result<Outcome> {
    let (addr, server) = stream_server(message.to_vec(), count);
    let outcome = match competitor {
        Competitor::Limit64K => limit_reader::<65536>(&addr, message.len()),
        // Reads of the size of brine's receive buffer (the rule below).
        Competitor::Limit4K if message.len() > 2048 => limit_reader::<8192>(&addr, message.len()),
        Competitor::Limit4K => limit_reader::<4096>(&addr, message.len()),
        // The default 4096-byte receive buffer, except for messages that do not fit in it
        // with room to spare (the 4096-byte point of the size sweep).
        Competitor::BrineBlocking if message.len() > 2048 => brine_blocking::<8192>(&addr),
        Competitor::BrineBlocking => brine_blocking::<4096>(&addr),
        Competitor::BrineRun if message.len() > 2048 => brine_run::<8192>(&addr),
        Competitor::BrineRun => brine_run::<4096>(&addr),
        Competitor::BrineAsync if message.len() > 2048 => brine_async::<8192>(&addr),
        Competitor::BrineAsync => brine_async::<4096>(&addr),
        Competitor::PythonFramed => python_listen("framed", &addr),
        Competitor::PythonLab => python_listen("lab", &addr),
    };
    let served = server.join().expect("server thread");
    let outcome = outcome?;
    served?;
    Ok(outcome)
}

fn limit_reader<const BUF: usize>(addr: &str, message_len: usize) -> io::Result<Outcome> {
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    let mut buf = vec![0u8; BUF];
    // The id, then the identity, as a client would.
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 || buf[n - 1] == b'.' {
            break;
        }
    }
    s.write_all(&pickle(&IDENTITY))?;
    let start = Instant::now();
    let mut bytes = 0u64;
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => bytes += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(Outcome {
        messages: bytes / message_len as u64,
        errors: 0,
        seconds,
    })
}

/// brine's blocking client with an `RX`-byte receive buffer (the default is 4096; 8192 lets
/// the 4096-byte messages of the size sweep fit) and the default decoder.
fn brine_blocking<const RX: usize>(addr: &str) -> io::Result<Outcome> {
    let transport = tcp::connect(addr, &ConnectOptions::new()).map_err(io::Error::other)?;
    let mut client =
        brine_core::blocking::Client::<_, (), Session<RX, 4096>>::with_storage(transport, ());
    client.handshake(&IDENTITY).map_err(io::Error::other)?;
    let start = Instant::now();
    let (mut messages, mut errors) = (0u64, 0u64);
    loop {
        match client.next_event().map_err(io::Error::other)? {
            Event::Message(value) => {
                std::hint::black_box(&value);
                messages += 1;
            }
            Event::Skipped { .. } => errors += 1,
            Event::Closed => break,
            _ => {}
        }
    }
    Ok(Outcome {
        messages,
        errors,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// [`brine_blocking`] through `run`: every complete message of a read is decoded and handed
/// to the closure in one loop (`Session::poll_messages`), no event returned per message.
fn brine_run<const RX: usize>(addr: &str) -> io::Result<Outcome> {
    let transport = tcp::connect(addr, &ConnectOptions::new()).map_err(io::Error::other)?;
    let mut client =
        brine_core::blocking::Client::<_, (), Session<RX, 4096>>::with_storage(transport, ());
    client.handshake(&IDENTITY).map_err(io::Error::other)?;
    let start = Instant::now();
    let (mut messages, mut errors) = (0u64, 0u64);
    client
        .run(|event| match event {
            Event::Message(value) => {
                std::hint::black_box(&value);
                messages += 1;
            }
            Event::Skipped { .. } => errors += 1,
            _ => {}
        })
        .map_err(io::Error::other)?;
    Ok(Outcome {
        messages,
        errors,
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn brine_async<const RX: usize>(addr: &str) -> io::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let transport = brine_adapters::tokio_tcp::connect(addr, &ConnectOptions::new())
            .await
            .map_err(io::Error::other)?;
        let mut client =
            brine_core::asynch::Client::<_, (), Session<RX, 4096>>::with_storage(transport, ());
        client
            .handshake(&IDENTITY)
            .await
            .map_err(io::Error::other)?;
        let start = Instant::now();
        let (mut messages, mut errors) = (0u64, 0u64);
        loop {
            match client.next_event().await.map_err(io::Error::other)? {
                Event::Message(value) => {
                    std::hint::black_box(&value);
                    messages += 1;
                }
                Event::Skipped { .. } => errors += 1,
                Event::Closed => break,
                _ => {}
            }
        }
        Ok(Outcome {
            messages,
            errors,
            seconds: start.elapsed().as_secs_f64(),
        })
    })
}

fn python_listen(mode: &str, addr: &str) -> io::Result<Outcome> {
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    let out = Command::new("python3")
        .args([PY_CLIENTS, mode, host, port])
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!("python3 {mode} failed")));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace();
    let mut next = || -> io::Result<f64> {
        it.next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::other(format!("bad output from python3 {mode}: {text}")))
    };
    Ok(Outcome {
        messages: next()? as u64,
        errors: next()? as u64,
        seconds: next()?,
    })
}

// ---------------------------------------------------------------------------------------
// Report

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn fmt_int(x: f64) -> String {
    let s = format!("{:.0}", x);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

struct Args {
    quick: bool,
    server: Option<std::path::PathBuf>,
    plot: Option<std::path::PathBuf>,
    only: Option<String>,
    count: Option<usize>,
}

/// How many messages and rounds each kind of client gets. The Rust clients (the limits and
/// brine) run in every round, in an order rotating each round, and each one's ratio to the
/// 4 KiB limit is taken per round, against the limit's run of the same round: a load swing
/// that slows the limit (its rate moved 3.5x between runs of one machine) hits both sides
/// of a ratio, and the median of the rounds' ratios is the figure to quote. The Python
/// clients are slow and no goal is set against them: fewer messages, fewer rounds.
struct Plan {
    rust_count: usize,
    rust_rounds: usize,
    py_count: usize,
    py_rounds: usize,
}

impl Plan {
    fn new(quick: bool) -> Self {
        if quick {
            Plan {
                rust_count: 400_000,
                rust_rounds: 15,
                py_count: 200_000,
                py_rounds: 1,
            }
        } else {
            Plan {
                rust_count: 1_000_000,
                rust_rounds: 21,
                py_count: 1_000_000,
                py_rounds: 3,
            }
        }
    }
}

/// The clients timed in every round (their ratios to the 4 KiB limit are per round).
fn is_rust(c: Competitor) -> bool {
    !matches!(c, Competitor::PythonFramed | Competitor::PythonLab)
}

/// `(min, max)` of `v`.
fn range(v: &[f64]) -> (f64, f64) {
    let min = v.iter().cloned().fold(f64::MAX, f64::min);
    let max = v.iter().cloned().fold(0.0, f64::max);
    (min, max)
}

fn throughput(args: &Args) -> io::Result<()> {
    let plan = Plan::new(args.quick);
    let limit4 = 1; // Competitor::ALL[1]
    for (name, message) in [
        ("the ack string 'Server got the data'", ack_pickle()),
        ("a dict", dict_pickle()),
    ] {
        println!(
            "\n### Listen throughput: {name} ({} bytes pickled, protocol 4): the Rust clients {} messages x {} rounds, the Python clients {} x {}, medians\n",
            message.len(),
            fmt_int(plan.rust_count as f64),
            plan.rust_rounds,
            fmt_int(plan.py_count as f64),
            plan.py_rounds,
        );
        let n = Competitor::ALL.len();
        let mut rates: Vec<Vec<f64>> = vec![Vec::new(); n];
        // Each Rust client's rate over the 4 KiB limit's in the same round.
        let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); n];
        let mut last: Vec<Outcome> = vec![Outcome::default(); n];
        for round in 0..plan.rust_rounds.max(plan.py_rounds) {
            let mut this = vec![None; n];
            // Interleaved, and the order rotates each round.
            for k in 0..n {
                let i = (k + round) % n;
                let c = Competitor::ALL[i];
                let (rounds, count) = if is_rust(c) {
                    (plan.rust_rounds, plan.rust_count)
                } else {
                    (plan.py_rounds, plan.py_count)
                };
                if round >= rounds {
                    continue;
                }
                let outcome = run_one(c, &message, count)?;
                rates[i].push(outcome.rate());
                this[i] = Some(outcome.rate());
                last[i] = outcome;
            }
            if let Some(limit) = this[limit4] {
                for i in 0..n {
                    if let (true, Some(rate)) = (is_rust(Competitor::ALL[i]), this[i]) {
                        ratios[i].push(rate / limit);
                    }
                }
            }
        }
        let best: Vec<f64> = rates.iter().map(|r| range(r).1).collect();
        let limit_range = range(&rates[limit4]);
        let med: Vec<f64> = rates.into_iter().map(median).collect();
        let limit64 = med[0];
        let framed = med[5];
        let count_of = |c: Competitor| {
            if is_rust(c) {
                plan.rust_count
            } else {
                plan.py_count
            }
        };
        println!("| client | messages/s (median) | best round | MB/s | vs limit (4 KiB reads) | its rounds' range | vs limit (64 KiB reads) | vs Python framed | messages received |");
        println!("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |");
        for (i, c) in Competitor::ALL.iter().enumerate() {
            let o = last[i];
            let count = count_of(*c);
            let received = match c {
                Competitor::PythonLab => format!(
                    "{} of {} decoded ({} chunks failed to load)",
                    fmt_int(o.messages as f64),
                    fmt_int(count as f64),
                    fmt_int(o.errors as f64)
                ),
                Competitor::Limit4K | Competitor::Limit64K => "(bytes only)".into(),
                _ => format!(
                    "{} of {}{}",
                    fmt_int(o.messages as f64),
                    fmt_int(count as f64),
                    if o.errors > 0 {
                        format!(", {} skipped", o.errors)
                    } else {
                        String::new()
                    }
                ),
            };
            // A Rust client: the median of its rounds' ratios; a Python client: the ratio of
            // the medians (it runs in fewer rounds).
            let (vs4, spread) = if is_rust(*c) {
                let (lo, hi) = range(&ratios[i]);
                (median(ratios[i].clone()), format!("{lo:.2}-{hi:.2}"))
            } else {
                (med[i] / med[limit4], "(ratio of medians)".into())
            };
            println!(
                "| {} | {} | {} | {:.0} | {:.2} | {} | {:.2} | {:.1}× | {} |",
                c.label(),
                fmt_int(med[i]),
                fmt_int(best[i]),
                med[i] * message.len() as f64 / 1e6,
                vs4,
                spread,
                med[i] / limit64,
                med[i] / framed,
                received
            );
        }
        for (competitor, path) in [
            (Competitor::BrineBlocking, "`next_event` per message"),
            (
                Competitor::BrineRun,
                "`run`, every message of a read in one loop",
            ),
        ] {
            let brine = Competitor::ALL
                .iter()
                .position(|&c| c == competitor)
                .expect("brine blocking");
            let (lo, hi) = range(&ratios[brine]);
            println!(
                "\n**brine blocking ({path}) / the 4 KiB read-and-discard limit: {:.2}** (the median of {} rounds, each brine's rate over the limit's in the same round; rounds {lo:.2}-{hi:.2}; the limit's own rate {:.1}-{:.1} M msg/s).",
                median(ratios[brine].clone()),
                ratios[brine].len(),
                limit_range.0 / 1e6,
                limit_range.1 / 1e6,
            );
        }
    }
    Ok(())
}

const SWEEP_SIZES: [usize; 4] = [64, 256, 1024, 4096];
const SWEEP: [Competitor; 4] = [
    Competitor::Limit4K,
    Competitor::BrineBlocking,
    Competitor::BrineRun,
    Competitor::PythonFramed,
];

fn sweep(args: &Args) -> io::Result<()> {
    let bytes_per_run: usize = if args.quick { 16 << 20 } else { 64 << 20 };
    // The limit and brine in every round (brine / limit per round, as in `throughput`),
    // Python framed in the first rounds only.
    let (rounds, py_rounds) = if args.quick { (7, 1) } else { (15, 3) };
    let mut table: Vec<Vec<f64>> = vec![Vec::new(); SWEEP.len()];
    println!("\n### Throughput against message size (str pickles; {} MiB per run, at most 1,000,000 messages; the limit and brine {rounds} rounds, Python {py_rounds}, medians; brine / limit is the median of the rounds' ratios; brine's receive buffer and the limit's reads are 4 KiB, 8 KiB for the 4096-byte messages)\n", bytes_per_run >> 20);
    println!("| message size (B) | limit (reads of brine's buffer size) msg/s | brine blocking `next_event` msg/s | brine blocking `run` msg/s | Python framed msg/s | `next_event` / limit | its rounds' range | `run` / limit | its rounds' range | `next_event` / Python |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | ---: |");
    for size in SWEEP_SIZES {
        let message = str_pickle(size);
        let count = (bytes_per_run / message.len()).min(1_000_000);
        let mut rates: Vec<Vec<f64>> = vec![Vec::new(); SWEEP.len()];
        let (mut ratios, mut run_ratios) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let mut this = [0.0; SWEEP.len()];
            for k in 0..SWEEP.len() {
                let i = (k + round) % SWEEP.len();
                if !is_rust(SWEEP[i]) && round >= py_rounds {
                    continue;
                }
                this[i] = run_one(SWEEP[i], &message, count)?.rate();
                rates[i].push(this[i]);
            }
            ratios.push(this[1] / this[0]);
            run_ratios.push(this[2] / this[0]);
        }
        let med: Vec<f64> = rates.into_iter().map(median).collect();
        let (lo, hi) = range(&ratios);
        let (run_lo, run_hi) = range(&run_ratios);
        println!(
            "| {} | {} | {} | {} | {} | {:.2} | {lo:.2}-{hi:.2} | {:.2} | {run_lo:.2}-{run_hi:.2} | {:.1}× |",
            message.len(),
            fmt_int(med[0]),
            fmt_int(med[1]),
            fmt_int(med[2]),
            fmt_int(med[3]),
            median(ratios),
            median(run_ratios),
            med[1] / med[3]
        );
        for (i, m) in med.into_iter().enumerate() {
            table[i].push(m);
        }
    }
    if let Some(path) = &args.plot {
        plot(path, &table).map_err(|e| io::Error::other(e.to_string()))?;
        println!("\nPlot: `{}`", path.display());
    }
    Ok(())
}

fn plot(path: &Path, table: &[Vec<f64>]) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;
    let root = BitMapBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let max = table.iter().flatten().cloned().fold(1.0, f64::max) * 2.0;
    let min = table.iter().flatten().cloned().fold(f64::MAX, f64::min) / 2.0;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "brine: listen throughput on loopback vs message size",
            ("sans-serif", 26),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(
            (48f64..5500f64)
                .log_scale()
                .with_key_points(SWEEP_SIZES.iter().map(|&s| s as f64).collect::<Vec<_>>()),
            (min..max).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("message size (bytes, pickled str, protocol 4)")
        .y_desc("messages / s")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| {
            if *y >= 1e6 {
                format!("{:.1}M", y / 1e6)
            } else {
                format!("{:.0}k", y / 1e3)
            }
        })
        .label_style(("sans-serif", 16))
        .draw()?;
    let names = [
        "limit: Rust TcpStream read+discard (reads of brine's buffer size)",
        "brine blocking client, next_event (decodes every message)",
        "brine blocking client, run (every message of a read in one loop)",
        "Python framed client (pickle.Unpickler)",
    ];
    let colors = [BLACK, BLUE, GREEN, RED];
    for (i, series) in table.iter().enumerate() {
        let points: Vec<(f64, f64)> = SWEEP_SIZES
            .iter()
            .map(|&s| s as f64)
            .zip(series.iter().cloned())
            .collect();
        let color = colors[i];
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(3)))?
            .label(names[i])
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 5, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()?;
    root.present()?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    let mut args = Args {
        quick: std::env::var_os("QUICK").is_some_and(|v| !v.is_empty() && v != "0"),
        server: None,
        plot: None,
        only: None,
        count: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => args.quick = true,
            "--server" => args.server = it.next().map(Into::into),
            "--plot" => args.plot = it.next().map(Into::into),
            "--only" => args.only = it.next(),
            "--count" => args.count = it.next().and_then(|n| n.parse().ok()),
            _ => {
                eprintln!(
                    "usage: brine-bench [--quick] [--server PATH/TO/brine-server] [--plot OUT.png] [--only throughput|handshake|sweep]"
                );
                return std::process::ExitCode::from(2);
            }
        }
    }
    let want = |name: &str| args.only.as_deref().is_none_or(|o| o == name);
    let result = (|| -> io::Result<()> {
        if let Some(kind) = args
            .only
            .as_deref()
            .and_then(|o| o.strip_prefix("profile-"))
        {
            // One brine blocking run, for `valgrind --tool=callgrind`: `profile-ack`,
            // `profile-dict`, `profile-4096` (the size sweep's 4 KiB str) through
            // `next_event`, `profile-ack-run`, `profile-dict-run`, `profile-4096-run`
            // through `run`.
            let (kind, competitor) = match kind.strip_suffix("-run") {
                Some(kind) => (kind, Competitor::BrineRun),
                None => (kind, Competitor::BrineBlocking),
            };
            let message = match kind {
                "dict" => dict_pickle(),
                "4096" => str_pickle(4096),
                _ => ack_pickle(),
            };
            let o = run_one(competitor, &message, args.count.unwrap_or(200_000))?;
            println!("{} messages in {:.3} s", o.messages, o.seconds);
            return Ok(());
        }
        if want("throughput") {
            throughput(&args)?;
        }
        if want("handshake") {
            handshakes(&args)?;
        }
        if want("sweep") {
            sweep(&args)?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("brine-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_sizes() {
        assert_eq!(ack_pickle().len(), 34);
        let d = dict_pickle().len();
        assert!((90..=130).contains(&d), "dict pickle is {d} bytes");
        for s in SWEEP_SIZES {
            let p = str_pickle(s);
            assert!(p.len() <= s && p.len() + 8 >= s, "{s}: {}", p.len());
        }
    }

    /// A tiny run of the Rust clients: every message arrives and decodes.
    #[test]
    fn smoke() {
        for message in [ack_pickle(), dict_pickle(), str_pickle(4096)] {
            for c in [
                Competitor::Limit4K,
                Competitor::BrineBlocking,
                Competitor::BrineRun,
                Competitor::BrineAsync,
            ] {
                let o = run_one(c, &message, 2000).unwrap();
                assert_eq!((o.messages, o.errors), (2000, 0), "{c:?}");
            }
        }
    }
}
