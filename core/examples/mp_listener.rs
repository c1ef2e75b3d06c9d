//! A `multiprocessing.connection` listener in Rust that Python's
//! `Client(address, authkey=...)` can talk to: brine-core's sans-IO handshake and framing
//! over a std `TcpListener`.
//!
//! ```sh
//! BRINE_AUTHKEY=s3cret cargo run -p brine-core --example mp_listener -- 127.0.0.1:6000
//! ```
//!
//! ```python
//! from multiprocessing.connection import Client
//! with Client(('127.0.0.1', 6000), authkey=b's3cret') as conn:
//!     print(conn.recv())            # {'hello': 'from brine'}
//!     conn.send({'n': [1, 2.5]})
//!     print(conn.recv())            # ('got', 1)
//! ```
//!
//! Prints `PORT <n>` once listening, serves one client: a greeting, then for each object
//! received its repr on stdout and `('got', <count>)` back, until the client closes. A
//! failed handshake (wrong key, a client without one, a peer that is not multiprocessing,
//! or no answer within the timeout: 10 s, or the second argument in seconds) prints
//! `error: <why>` on stderr and exits 1.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use brine_core::framing::{Deframer, Frame, Framing, MAX_PREFIX};
use brine_core::multiprocessing::{Handshake, Role, NONCE_LEN};
use brine_core::pickle::{self, Decoder, Protocol};

fn main() {
    if let Err(e) = serve() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let address = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let timeout: f64 = args.next().map_or(Ok(10.0), |s| s.parse())?;
    let key = std::env::var("BRINE_AUTHKEY").map_err(|_| "set BRINE_AUTHKEY to the authkey")?;
    let listener = TcpListener::bind(&address)?;
    println!("PORT {}", listener.local_addr()?.port());
    let (mut stream, peer) = listener.accept()?;
    eprintln!("connection from {peer}");

    // The handshake: 40 random bytes for our challenge, then read only what it wants.
    let mut nonce = [0; NONCE_LEN];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut nonce)?;
    let mut handshake = Handshake::new(Role::Listener, key.as_bytes(), nonce);
    // Bounded: a peer that never answers would otherwise hold the listener forever.
    stream.set_read_timeout(Some(Duration::from_secs_f64(timeout)))?;
    while !handshake.is_done() {
        let out = handshake.transmit();
        stream.write_all(out)?;
        let n = out.len();
        handshake.transmitted(n);
        if handshake.is_done() {
            break;
        }
        let mut buf = vec![0; handshake.wanted()];
        let got = match stream.read(&mut buf) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                let awaiting = handshake.awaiting();
                return Err(format!("waited {timeout} s for {awaiting}: is the peer a multiprocessing.connection Client with the authkey?").into());
            }
            got => got?,
        };
        if got == 0 {
            return Err(handshake
                .peer_closed()
                .map_or("closed".into(), |e| e.to_string())
                .into());
        }
        if let Err(e) = handshake.receive(&buf[..got]) {
            // Send #FAILURE# as CPython does, then give up.
            stream.write_all(handshake.transmit())?;
            return Err(e.to_string().into());
        }
    }
    eprintln!("authenticated ({:?})", handshake.digests());
    stream.set_read_timeout(None)?;

    send(&mut stream, &BTreeMap::from([("hello", "from brine")]))?;
    let mut deframer = Deframer::new(Framing::Multiprocessing);
    let mut buf = vec![0u8; 0];
    let mut count = 0u64;
    let mut decoder = Decoder::<1024, 2048, 512, 1024>::new();
    loop {
        match deframer.next(&buf, 64 * 1024)? {
            Frame::Message { start, end } => {
                match decoder.decode(&buf[start..end]) {
                    Ok(value) => println!("{value}"),
                    Err(e) => println!("(not decoded: {e})"),
                }
                buf.drain(..end);
                count += 1;
                send(&mut stream, &("got", count))?;
            }
            Frame::Discard { n } => drop(buf.drain(..n)),
            Frame::Skipped { n, len } => {
                buf.drain(..n);
                println!("(skipped a {len}-byte message)");
            }
            Frame::NeedMore | Frame::Delimited => {
                let mut chunk = [0; 8192];
                let n = stream.read(&mut chunk)?;
                if n == 0 {
                    eprintln!("client closed");
                    return Ok(());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
        }
    }
}

/// Pickles `value` (protocol 4, as Python's `Connection.send` writes) with its length prefix.
fn send<T: serde::Serialize + ?Sized>(stream: &mut TcpStream, value: &T) -> std::io::Result<()> {
    let mut message = vec![0; 4096];
    let n = pickle::to_slice(value, &mut message[MAX_PREFIX..], Protocol::V4)
        .map_err(|e| std::io::Error::other(e.to_string()))?
        .len();
    let mut prefix = [0; MAX_PREFIX];
    let h = Framing::Multiprocessing
        .encode_prefix(n, &mut prefix)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    message[MAX_PREFIX - h..MAX_PREFIX].copy_from_slice(&prefix[..h]);
    stream.write_all(&message[MAX_PREFIX - h..MAX_PREFIX + n])
}
