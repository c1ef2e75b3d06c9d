//! Handshake latency: sequential handshakes against a running `brine-server` (the brine
//! blocking client, the Python lab client, a raw Rust lab client) and the limit (connect + one
//! 64-byte ping-pong against an echo server thread).

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Instant;

use brine_adapters::tcp::{self, ConnectOptions};
use brine_core::session::Event;

use crate::{ack_pickle, pickle, Args, ClientIdMsg, IDENTITY, PY_CLIENTS};

fn echo_server() -> io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            let _ = s.set_nodelay(true);
            let mut buf = [0u8; 64];
            while s.read_exact(&mut buf).is_ok() {
                if s.write_all(&buf).is_err() {
                    break;
                }
            }
        }
    });
    Ok(addr)
}

/// A minimal lab server (one connection at a time, on one thread, no runtime; the
/// handshakes are sequential): sends the id, reads the
/// identity, sends the ack, waits for the client to close. It separates the client's share
/// of a handshake from the reference server's.
fn minimal_lab_server() -> io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    let id = pickle(&ClientIdMsg { clientid: 1 });
    let ack = ack_pickle();
    thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            let _ = (|| -> io::Result<()> {
                s.set_nodelay(true)?;
                s.write_all(&id)?;
                let mut buf = [0u8; 4096];
                loop {
                    let n = s.read(&mut buf)?;
                    if n == 0 {
                        return Ok(());
                    }
                    if buf[n - 1] == b'.' {
                        break;
                    }
                }
                s.write_all(&ack)?;
                while s.read(&mut buf)? > 0 {}
                Ok(())
            })();
        }
    });
    Ok(addr)
}

fn limit_handshake(addr: &str) -> io::Result<u64> {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    let mut buf = [7u8; 64];
    s.write_all(&buf)?;
    s.read_exact(&mut buf)?;
    Ok(start.elapsed().as_nanos() as u64)
}

/// The lab protocol's shape with nothing decoded or encoded: connect, read the id's bytes,
/// write the identity's bytes (pickled beforehand), read the ack's bytes.
fn raw_lab_handshake(addr: &str, identity: &[u8]) -> io::Result<u64> {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    let mut buf = [0u8; 4096];
    let _ = s.read(&mut buf)?;
    s.write_all(identity)?;
    let _ = s.read(&mut buf)?;
    Ok(start.elapsed().as_nanos() as u64)
}

fn brine_handshake(addr: &str) -> io::Result<u64> {
    let start = Instant::now();
    let transport = tcp::connect(addr, &ConnectOptions::new()).map_err(io::Error::other)?;
    let mut client = brine_core::blocking::Client::new(transport);
    client.handshake(&IDENTITY).map_err(io::Error::other)?;
    loop {
        match client.next_event().map_err(io::Error::other)? {
            Event::Message(_) => break,
            Event::Closed => return Err(io::Error::other("closed before the ack")),
            _ => {}
        }
    }
    Ok(start.elapsed().as_nanos() as u64)
}

fn python_handshakes(addr: &str, n: usize) -> io::Result<Vec<u64>> {
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    let out = Command::new("python3")
        .args([PY_CLIENTS, "handshake", host, port, &n.to_string()])
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other("python3 handshake failed"));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect())
}

/// Starts `brine-server 127.0.0.1:0 -q` and returns it with its address.
fn start_brine_server(bin: &Path) -> io::Result<(std::process::Child, String)> {
    let mut child = Command::new(bin)
        .args(["127.0.0.1:0", "-q"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    io::BufRead::read_line(&mut io::BufReader::new(stdout), &mut line)?;
    // "Listening on 127.0.0.1:PORT (pickle protocol 4)"
    let addr = line
        .split_whitespace()
        .find(|w| w.starts_with("127.0.0.1:"))
        .ok_or_else(|| io::Error::other(format!("unexpected first line: {line}")))?
        .to_string();
    Ok((child, addr))
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1000.0
}

pub(crate) fn handshakes(args: &Args) -> io::Result<()> {
    let Some(bin) = &args.server else {
        println!("\n(handshake latency skipped: no --server PATH to brine-server)");
        return Ok(());
    };
    let total = if args.quick { 200 } else { 1000 };
    let chunks = 5;
    let (mut server, addr) = start_brine_server(bin)?;
    let echo = echo_server()?;
    let minimal = minimal_lab_server()?;
    let (mut brine, mut python, mut limit) = (Vec::new(), Vec::new(), Vec::new());
    let (mut brine_min, mut python_min, mut raw_min) = (Vec::new(), Vec::new(), Vec::new());
    let identity = pickle(&IDENTITY);
    // Warm-up (not counted).
    for _ in 0..20 {
        brine_handshake(&addr)?;
        limit_handshake(&echo)?;
    }
    for _ in 0..chunks {
        for _ in 0..total / chunks {
            limit.push(limit_handshake(&echo)?);
        }
        for _ in 0..total / chunks {
            brine.push(brine_handshake(&addr)?);
        }
        python.extend(python_handshakes(&addr, total / chunks)?);
        for _ in 0..total / chunks {
            brine_min.push(brine_handshake(&minimal)?);
        }
        python_min.extend(python_handshakes(&minimal, total / chunks)?);
        for _ in 0..total / chunks {
            raw_min.push(raw_lab_handshake(&minimal, &identity)?);
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    println!(
        "\n### Handshake latency: {total} sequential handshakes each, interleaved in {chunks} chunks, brine-server (release) on {addr}\n"
    );
    println!("| client | server | what is timed | p50 µs | p99 µs | p50 vs limit |");
    println!("| --- | --- | --- | ---: | ---: | ---: |");
    limit.sort_unstable();
    brine.sort_unstable();
    python.sort_unstable();
    brine_min.sort_unstable();
    python_min.sort_unstable();
    raw_min.sort_unstable();
    let lim50 = percentile(&limit, 0.5);
    let (hs, lab) = (
        "connect + handshake + wait for the ack",
        "connect, recv id, send identity, recv ack",
    );
    for (label, server, what, v) in [
        (
            "limit (Rust)",
            "echo thread",
            "TCP connect + one 64-byte ping-pong",
            &limit,
        ),
        ("brine blocking", "brine-server", hs, &brine),
        ("Python lab client", "brine-server", lab, &python),
        ("brine blocking", "minimal Rust lab server", hs, &brine_min),
        (
            "Python lab client",
            "minimal Rust lab server",
            lab,
            &python_min,
        ),
        (
            "limit, lab-shaped (Rust TcpStream, nothing pickled)",
            "minimal Rust lab server",
            "connect, read id bytes, write identity bytes, read ack bytes",
            &raw_min,
        ),
    ] {
        println!(
            "| {label} | {server} | {what} | {:.1} | {:.1} | {:.2} |",
            percentile(v, 0.5),
            percentile(v, 0.99),
            percentile(v, 0.5) / lim50
        );
    }
    Ok(())
}
