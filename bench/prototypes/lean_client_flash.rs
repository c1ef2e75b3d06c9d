//! Prototype, not built by the workspace (issue 21 point 3, session 9): the flash of a whole
//! lab client core in the lean design, to see whether the smallest lab configuration can fit
//! in 24 KiB at all. Session 8 measured (BENCHMARKS.md, "Firmware footprint") that today's
//! brine-core without any decoder is already 30,546 bytes, so a lean machine alone cannot
//! reach the goal. This file is the rest of the design, in the same style as the lean machine:
//!
//! - the lean machine of lean_machine.rs with its 36 opcodes (`--cfg lean_more`) and its
//!   end position (`--cfg lean_end`);
//! - a skip-only scan (the one other walker the issue allows): finds where a pickle ends,
//!   across reads, by each opcode's argument shape (fixed width, a length prefix, lines),
//!   and skips a message larger than the buffer without storing it;
//! - a session over one 4096-byte receive buffer: read, scan, decode the whole message, hand
//!   out the event; compact when the head moved; the handshake (the first message must be
//!   `{'clientid': int}`), the identity written as bytes pickled at build time;
//! - faults as one-byte codes: no error text, no `core::fmt`, no panic message (the panic
//!   handler loops, as the firmware's would abort);
//! - with `--cfg lean_full` (session 11), what the smallest lab build accepts besides (see
//!   lean_machine.rs's `lean_full` arms): equal keys merged, every opcode that build reads
//!   (protocol 0 text with its escapes, ints past 64 bits as spans, sets, builtin globals),
//!   moves of non-contiguous items, shared containers and cycles; the rest refused with a
//!   one-byte `Stop` code.
//!
//! What it leaves out (BENCHMARKS.md, "Firmware footprint"): every error's detail (codes
//! only), PUT/BINPUT to an index other than the next, CPython's order of sets, the timeouts
//! and `Waiting` state, the blocking client's trait plumbing (embedded-io's traits are
//! reduced to one `dyn Io`), `Value`'s API. The host self-check (tests at the bottom, CPython
//! fixtures) runs with `--test`; lean_flash.sh runs it first. To build and measure (from the
//! repository's root):
//!
//!   flock /tmp/cargo-slot-1 rustc --edition 2021 --crate-type staticlib --cap-lints allow \
//!       --target thumbv7m-none-eabi -C opt-level=z -C lto=fat -C codegen-units=1 \
//!       -C panic=abort --cfg lean_more --cfg lean_end --cfg lean_full \
//!       -o target/lean-flash/libclient.a \
//!       bench/prototypes/lean_client_flash.rs
//!   arm-none-eabi-ld --gc-sections -e brine_lean_client -u brine_lean_client \
//!       -o target/lean-flash/client.elf target/lean-flash/libclient.a
//!   arm-none-eabi-size -A target/lean-flash/client.elf
//!   arm-none-eabi-nm -S -C -t d --size-sort target/lean-flash/client.elf
//!
//! (flash = .text + .rodata; bash bench/prototypes/lean_flash.sh runs the same lines.)
#![cfg_attr(not(test), no_std)]
#![allow(private_interfaces)]

include!("lean_machine.rs");

/// The receive buffer: the lab's `recv(4096)`.
const RX: usize = 4096;

/// A byte stream, embedded-io's `Read` and `Write` reduced to what the session calls; a
/// transport's error is one byte.
pub trait Io {
    /// Reads into `buf`; `waiting` says what the session waits for, so the transport bounds
    /// the wait as the firmware chooses (brine's `before_read` hook; no clock here, as in
    /// brine-core): an expired wait is the transport's error.
    fn read(&mut self, buf: &mut [u8], waiting: Waiting) -> Result<usize, u8>;
    fn write(&mut self, buf: &[u8]) -> Result<usize, u8>;
}

/// What the session waits for at a read (brine's `Waiting`).
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Waiting {
    /// The client id: bound this wait.
    ClientId,
    /// The rest of a message whose first bytes arrived: bound this wait.
    RestOfMessage,
    /// The next message: silence is normal.
    NextMessage,
}

/// Why the session ended, or why it skipped a message: a code, no text.
#[derive(Clone, Copy, PartialEq)]
#[cfg_attr(test, derive(Debug))]
#[repr(u8)]
pub enum Fault {
    /// The transport failed with this code.
    Transport(u8),
    /// The peer closed the stream (between messages, or inside one).
    Closed,
    /// A byte that is no opcode.
    NotAnOpcode,
    /// A message larger than the receive buffer (skipped).
    TooLarge,
    /// The machine refused the message (skipped): why, a code (brine's errors add a
    /// reason's text); `Client::refused` says where.
    Refused(Stop),
    /// The first message was not `{'clientid': int}`.
    NoClientId,
    /// The transport accepted no byte of the identity.
    WriteZero,
}

/// What the skip-only scan expects next.
#[derive(Clone, Copy)]
enum Scan {
    /// An opcode.
    Op,
    /// This many argument bytes.
    Skip(u64),
    /// A little-endian length of `bytes` bytes (`got` read so far), then that many bytes.
    Len { bytes: u8, got: u8, acc: u64 },
    /// This many newline-terminated lines (protocol 0's text arguments).
    Lines(u8),
}

/// What follows opcode `op`: its argument's shape; `None` if `op` is no opcode.
fn argument(op: u8) -> Option<Scan> {
    let len = |bytes| Scan::Len {
        bytes,
        got: 0,
        acc: 0,
    };
    Some(match op {
        b'(' | b'.' | b'0' | b'1' | b'2' | b'N' | b'R' | b'b' | b'a' | b'e' | b'd' | b'}'
        | b'l' | b']' | b'o' | b's' | b'u' | b't' | b')' | b'Q' | 0x81 | 0x85..=0x89
        | 0x8f..=0x94 | 0x97 | 0x98 => Scan::Skip(0),
        b'K' | b'h' | b'q' | 0x80 | 0x82 => Scan::Skip(1),
        b'M' | 0x83 => Scan::Skip(2),
        b'J' | b'j' | b'r' | 0x84 => Scan::Skip(4),
        b'G' | 0x95 => Scan::Skip(8),
        b'U' | b'C' | 0x8c | 0x8a => len(1),
        b'T' | b'X' | b'B' | 0x8b => len(4),
        0x8d | 0x8e | 0x96 => len(8),
        b'I' | b'L' | b'F' | b'S' | b'V' | b'g' | b'p' | b'P' => Scan::Lines(1),
        b'c' | b'i' => Scan::Lines(2),
        _ => return None,
    })
}

/// Scans `bytes` on from `state`: `Some(n)` when a STOP ends the pickle after `n` of them.
fn scan(state: &mut Scan, bytes: &[u8]) -> Result<Option<usize>, Fault> {
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match *state {
            Scan::Op => {
                i += 1;
                if byte == b'.' {
                    return Ok(Some(i));
                }
                *state = argument(byte).ok_or(Fault::NotAnOpcode)?;
            }
            Scan::Skip(n) => {
                let take = n.min((bytes.len() - i) as u64);
                i += take as usize;
                *state = if take == n { Scan::Op } else { Scan::Skip(n - take) };
            }
            Scan::Len { bytes: k, got, acc } => {
                i += 1;
                let acc = acc | u64::from(byte) << (8 * u32::from(got));
                *state = if got + 1 == k {
                    Scan::Skip(acc)
                } else {
                    Scan::Len {
                        bytes: k,
                        got: got + 1,
                        acc,
                    }
                };
            }
            Scan::Lines(n) => match bytes[i..].iter().position(|&b| b == b'\n') {
                Some(at) => {
                    i += at + 1;
                    *state = if n == 1 { Scan::Op } else { Scan::Lines(n - 1) };
                }
                None => i = bytes.len(),
            },
        }
    }
    Ok(None)
}

/// A session event.
pub enum Event<'a> {
    /// The server's client id: its node in the arena, and its message's bytes.
    ClientId(&'a Arena, u16, &'a [u8]),
    /// A message: its root in the arena, and its bytes (strs are spans of them).
    Message(&'a Arena, u16, &'a [u8]),
    /// A message skipped, and why.
    Skipped(Fault),
}

/// The session: the receive buffer, the scan's state and the machine's arena.
pub struct Client {
    rx: [u8; RX],
    head: usize,
    tail: usize,
    /// Bytes after `head` the scan has read.
    scanned: usize,
    /// Inside a message larger than the buffer: its bytes are dropped as they come.
    skipping: bool,
    /// The client id has arrived.
    greeted: bool,
    /// Where the last message delivered starts (it ends at `head`).
    last: usize,
    /// The last refusal's place: the offset in its message of the opcode the machine stopped
    /// at (STOP's for what its checks at the end refuse), and that opcode.
    pub refused: (u32, u8),
    scan: Scan,
    arena: Arena,
}

impl Client {
    /// The next event: a whole message decoded, or skipped when larger than the buffer or
    /// refused. Fails on the transport's error or its end.
    fn next(&mut self, io: &mut dyn Io) -> Result<Event<'_>, Fault> {
        loop {
            let from = self.head + self.scanned;
            let seen = self.rx.get(from..self.tail).unwrap_or(&[]);
            if let Some(n) = scan(&mut self.scan, seen)? {
                let (start, end) = (self.head, from + n);
                self.last = start;
                self.head = end;
                self.scanned = 0;
                if core::mem::take(&mut self.skipping) {
                    return Ok(Event::Skipped(Fault::TooLarge));
                }
                let pickle = self.rx.get(start..end).unwrap_or(&[]);
                return Ok(match decode(&mut self.arena, pickle) {
                    Ok(root) => Event::Message(&self.arena, root, pickle),
                    Err(stop) => {
                        let at = self.arena.at;
                        self.refused = (at as u32, pickle.get(at).copied().unwrap_or(0));
                        Event::Skipped(Fault::Refused(stop))
                    }
                });
            }
            self.scanned = self.tail - self.head;
            if self.skipping || self.scanned == RX {
                // Larger than the buffer: drop what was scanned, keep scanning what comes.
                self.skipping = true;
                self.head = self.tail;
                self.scanned = 0;
            }
            if self.head > 0 {
                // Forward, byte by byte (the destination is before the source): no memmove
                // (1,586 bytes), as brine-core's `shift::copy`.
                for i in self.head..self.tail {
                    self.rx[i - self.head] = self.rx[i];
                }
                self.tail -= self.head;
                self.head = 0;
            }
            let room = self.rx.get_mut(self.tail..).unwrap_or(&mut []);
            let waiting = if !self.greeted {
                Waiting::ClientId
            } else if self.skipping || self.tail > self.head {
                Waiting::RestOfMessage
            } else {
                Waiting::NextMessage
            };
            match io.read(room, waiting).map_err(Fault::Transport)? {
                0 => return Err(Fault::Closed),
                n => self.tail += n,
            }
        }
    }

    /// Waits for the client id, then writes `identity` (pickled at build time); the id's node
    /// in the arena, its message being `rx[last..head]`.
    fn handshake(&mut self, io: &mut dyn Io, identity: &[u8]) -> Result<u16, Fault> {
        let id = match self.next(io)? {
            Event::Message(arena, root, pickle) if pickle.len() <= CLIENT_ID_PICKLE_LEN => {
                client_id(arena, root, pickle)
            }
            _ => None,
        };
        let id = id.ok_or(Fault::NoClientId)?;
        self.greeted = true;
        let mut rest = identity;
        while !rest.is_empty() {
            match io.write(rest).map_err(Fault::Transport)? {
                0 => return Err(Fault::WriteZero),
                n => rest = rest.get(n..).unwrap_or(&[]),
            }
        }
        Ok(id)
    }
}

/// Largest pickle a client id may come in, as brine's `CLIENT_ID_PICKLE_LEN` (brine keeps it
/// to decode again; here the firmware copies what it keeps).
const CLIENT_ID_PICKLE_LEN: usize = 128;

/// The id in the server's first message, as brine's `ClientId::from_first_message`: the
/// value under `'clientid'` of a dict, or a bare int or str; else `None`.
fn client_id(arena: &Arena, root: u16, pickle: &[u8]) -> Option<u16> {
    match arena.nodes.get(usize::from(root))? {
        N::Int(_) | N::Str { .. } | N::Big { .. } | N::Esc { kind: EscKind::Str, .. } => Some(root),
        N::Seq(Seq { kind: Kind::Dict, first, len, .. }) => {
            let pairs = arena.items.get(usize::from(*first)..usize::from(*first) + usize::from(*len))?;
            let key = |id: u16| {
                let (start, len, enc) = match *arena.nodes.get(usize::from(id))? {
                    N::Str { start, len, .. } => (start, len, None),
                    N::Esc { start, len, enc, kind: EscKind::Str } => (start, len, enc),
                    _ => return None,
                };
                let mut chars = Chars {
                    rest: pickle.get(start as usize..(start + len) as usize)?,
                    enc,
                    backslash: false,
                };
                let mut want = b"clientid".iter();
                loop {
                    match (chars.next().ok()?, want.next()) {
                        (None, None) => return Some(()),
                        (Some(c), Some(&w)) if c == u32::from(w) => {}
                        _ => return None,
                    }
                }
            };
            pairs.chunks_exact(2).find(|pair| key(pair[0]).is_some()).map(|pair| pair[1])
        }
        _ => None,
    }
}

/// The lab client: the handshake, then every message to `on` until the stream fails or ends.
#[no_mangle]
pub fn brine_lean_client(
    client: &mut Client,
    io: &mut dyn Io,
    identity: &[u8],
    on: &mut dyn FnMut(&Event<'_>),
) -> Fault {
    match client.handshake(io, identity) {
        Ok(id) => on(&Event::ClientId(&client.arena, id, client.rx.get(client.last..client.head).unwrap_or(&[]))),
        Err(fault) => return fault,
    }
    loop {
        match client.next(io) {
            Ok(event) => on(&event),
            Err(fault) => return fault,
        }
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

/// The self-check (host only): `flock /tmp/cargo-slot-1 rustc --edition 2021 --test --cfg lean_more
/// --cfg lean_end --cfg lean_full -o target/lean-flash/client-test bench/prototypes/lean_client_flash.rs
/// && target/lean-flash/client-test` (lean_flash.sh runs it). Fixtures: pickles written by hand,
/// their expected values `repr(pickle.loads(fixture))` by python3 3.11.
#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write;

    /// Python's repr of node `id`, for the fixtures' values (ASCII text without quotes).
    fn repr(a: &Arena, id: u16, p: &[u8], out: &mut String) {
        repr_in(a, id, p, out, &mut Vec::new())
    }

    /// `repr` inside the containers of `path` (one of them again prints as Python's `[...]`).
    fn repr_in(a: &Arena, id: u16, p: &[u8], out: &mut String, path: &mut Vec<u16>) {
        if path.contains(&id) {
            out.push_str(match a.nodes[usize::from(id)] {
                N::Seq(Seq { kind: Kind::Dict, .. }) => "{...}",
                N::Seq(Seq { kind: Kind::List, .. }) => "[...]",
                _ => "(...)",
            });
            return;
        }
        let text = |start: u32, len: u32| std::str::from_utf8(&p[start as usize..(start + len) as usize]).unwrap();
        match a.nodes[usize::from(id)] {
            N::None => out.push_str("None"),
            N::Bool(b) => out.push_str(if b { "True" } else { "False" }),
            N::Int(v) => write!(out, "{v}").unwrap(),
            N::Float(v) => write!(out, "{v:?}").unwrap(),
            N::Str { start, len, .. } => chars(&p[start as usize..(start + len) as usize], None, out),
            #[cfg(lean_full)]
            N::Esc { start, len, enc, kind } => {
                let span = &p[start as usize..(start + len) as usize];
                if kind == EscKind::Str {
                    return chars(span, enc, out);
                }
                let mut read = Chars { rest: span, enc, backslash: false };
                let mut raw = Vec::new();
                while let Some(c) = read.next().unwrap() {
                    raw.push(c as u8);
                }
                if kind == EscKind::ByteArray {
                    out.push_str("bytearray(");
                }
                bytes(&raw, out);
                if kind == EscKind::ByteArray {
                    out.push(')');
                }
            }
            N::Bytes { start, len } => bytes(&p[start as usize..(start + len) as usize], out),
            #[cfg(lean_full)]
            N::Big { start, len, decimal: true } => out.push_str(text(start, len).trim()),
            #[cfg(lean_full)]
            N::Big { start, len, decimal: false } => {
                let le = &p[start as usize..(start + len) as usize];
                let mut buf = [if le[le.len() - 1] & 0x80 != 0 { 0xff } else { 0 }; 16];
                buf[..le.len()].copy_from_slice(le);
                write!(out, "{}", i128::from_le_bytes(buf)).unwrap()
            }
            #[cfg(lean_full)]
            N::Builtin(_) => out.push_str("<a builtin>"),
            #[cfg(lean_full)]
            N::ByteArray { start, len } => {
                out.push_str("bytearray(");
                bytes(&p[start as usize..(start + len) as usize], out);
                out.push(')');
            }
            N::Seq(s) => {
                let items = &a.items[usize::from(s.first)..usize::from(s.first) + usize::from(s.len)];
                let (open, close, pair) = match s.kind {
                    Kind::List => ("[", "]", false),
                    Kind::Tuple => ("(", if s.len == 1 { ",)" } else { ")" }, false),
                    Kind::Dict => ("{", "}", true),
                    #[cfg(lean_full)]
                    Kind::Set if s.len == 0 => ("set(", ")", false),
                    #[cfg(lean_full)]
                    Kind::Set => ("{", "}", false),
                    #[cfg(lean_full)]
                    Kind::FrozenSet if s.len == 0 => ("frozenset(", ")", false),
                    #[cfg(lean_full)]
                    Kind::FrozenSet => ("frozenset({", "})", false),
                };
                out.push_str(open);
                path.push(id);
                let step = if pair { 2 } else { 1 };
                for (i, entry) in items.chunks(step).enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    repr_in(a, entry[0], p, out, path);
                    if pair {
                        out.push_str(": ");
                        repr_in(a, entry[1], p, out, path);
                    }
                }
                path.pop();
                out.push_str(close);
            }
        }
    }

    /// Python's repr of a str read from `span` in `enc` (the fixtures' characters: printable,
    /// `\n`, lone surrogates).
    fn chars(span: &[u8], enc: Option<Enc>, out: &mut String) {
        let mut read = Chars { rest: span, enc, backslash: false };
        let mut text = Vec::new();
        while let Some(c) = read.next().unwrap() {
            text.push(c);
        }
        let quote = if text.contains(&u32::from(b'\'')) && !text.contains(&u32::from(b'"')) { '"' } else { '\'' };
        out.push(quote);
        for c in text {
            match c {
                0x0a => out.push_str("\\n"),
                0x5c => out.push_str("\\\\"),
                0..=0x1f | 0x7f..=0xa0 => write!(out, "\\x{c:02x}").unwrap(),
                0xd800..=0xdfff => write!(out, "\\u{c:04x}").unwrap(),
                _ => out.push(char::from_u32(c).unwrap()),
            }
        }
        out.push(quote);
    }

    /// Python's repr of bytes (the fixtures': no quotes, backslashes or control bytes).
    fn bytes(raw: &[u8], out: &mut String) {
        out.push_str("b'");
        for &b in raw {
            match b {
                0x20..=0x7e => out.push(char::from(b)),
                _ => write!(out, "\\x{b:02x}").unwrap(),
            }
        }
        out.push('\'');
    }

    /// Delivers its bytes `chunk` at a time, then the end of the stream; records what the
    /// session waited for at each read and what it wrote.
    struct Chunks<'a> {
        rest: &'a [u8],
        chunk: usize,
        waits: Vec<Waiting>,
        written: Vec<u8>,
    }

    impl Chunks<'_> {
        fn new(rest: &[u8], chunk: usize) -> Chunks<'_> {
            Chunks {
                rest,
                chunk,
                waits: Vec::new(),
                written: Vec::new(),
            }
        }
    }

    impl Io for Chunks<'_> {
        fn read(&mut self, buf: &mut [u8], waiting: Waiting) -> Result<usize, u8> {
            self.waits.push(waiting);
            let n = self.chunk.min(buf.len()).min(self.rest.len());
            buf[..n].copy_from_slice(&self.rest[..n]);
            self.rest = &self.rest[n..];
            Ok(n)
        }
        fn write(&mut self, buf: &[u8]) -> Result<usize, u8> {
            let n = buf.len().min(3);
            self.written.extend_from_slice(&buf[..n]);
            Ok(n)
        }
    }

    /// A session before its first read.
    fn client() -> Box<Client> {
        Box::new(Client {
            rx: [0; RX],
            head: 0,
            tail: 0,
            scanned: 0,
            skipping: false,
            greeted: false,
            last: 0,
            refused: (0, 0),
            scan: Scan::Op,
            arena: Arena {
                nodes: [N::None; NODES],
                items: [0; ITEMS],
                stack: [0; STACK],
                marks: [0; MARKS],
                memo: [0; MEMO],
                n_nodes: 0,
                n_items: 0,
                end: 0,
                at: 0,
            },
        })
    }

    /// The handshake, then a message, read 6 bytes at a time: the id, the identity written
    /// whole (3 bytes a write), what each read waited for, the end of the stream.
    #[test]
    fn handshake_and_waits() {
        // python3: pickle.dumps({'clientid': 7}, 4); pickle.dumps([1, 2], 4)
        let id = b"\x80\x04\x95\x11\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94K\x07s.";
        let message = b"\x80\x04\x95\x09\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01K\x02e.";
        // python3: pickle.dumps({'name': 'x'}, 4)
        let identity = b"\x80\x04\x95\x0f\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x04name\x94\x8c\x01x\x94s.";
        let stream = [&id[..], &message[..]].concat();
        let mut io = Chunks::new(&stream, 6);
        let mut seen = Vec::new();
        let fault = brine_lean_client(&mut client(), &mut io, identity, &mut |event| {
            seen.push(match event {
                Event::ClientId(a, id, p) => {
                    let mut out = String::from("id ");
                    repr(a, *id, p, &mut out);
                    out
                }
                Event::Message(a, root, p) => {
                    let mut out = String::new();
                    repr(a, *root, p, &mut out);
                    out
                }
                Event::Skipped(_) => "skipped".into(),
            })
        });
        assert!(fault == Fault::Closed);
        assert_eq!(seen, ["id 7", "[1, 2]"]);
        assert_eq!(io.written, identity);
        use Waiting::*;
        // the id's 28 bytes in 5 reads (the last with the message's first 2), the message's
        // other 18 in 3, then the end
        let want = [[ClientId; 5].as_slice(), &[RestOfMessage; 3], &[NextMessage]].concat();
        assert_eq!(io.waits, want);
    }

    /// Each fixture through the session (all of them in one stream, read 7 bytes at a time):
    /// the expected repr, or the refusal's code.
    fn check(fixtures: &[(&[u8], Result<&str, Stop>)]) {
        let stream: Vec<u8> = fixtures.iter().flat_map(|(f, _)| f.iter().copied()).collect();
        let mut io = Chunks::new(&stream, 7);
        let mut client = client();
        client.greeted = true;
        for (fixture, want) in fixtures {
            let got = match client.next(&mut io) {
                Ok(Event::Message(a, root, p)) => {
                    let mut out = String::new();
                    repr(a, root, p, &mut out);
                    Ok(out)
                }
                Ok(Event::Skipped(Fault::Refused(stop))) => Err(stop),
                _ => panic!("no event for {fixture:?}"),
            };
            assert_eq!(got, want.map(str::to_string), "{fixture:?}");
        }
        assert!(matches!(client.next(&mut io), Err(Fault::Closed)));
    }

    #[test]
    fn equal_keys_merged() {
        check(&[
            // python3: pickle.loads(FIXTURE) for each; keys as CPython's dict merges them
            (b"\x80\x04}\x94(\x8c\x01a\x94K\x01\x8c\x01b\x94K\x02h\x01K\x03u.", Ok("{'a': 3, 'b': 2}")),
            (
                b"\x80\x02}q\x00(K\x01X\x01\x00\x00\x00xq\x01\x88X\x01\x00\x00\x00yq\x02N\x89K\x00K\x07u.",
                Ok("{1: 'y', None: False, 0: 7}"),
            ),
            (b"\x80\x02}(\x8c\x02ab\x88\x8c\x02cd\x89u(\x8c\x02cdN\x8c\x02ef]u.", Ok("{'ab': True, 'cd': None, 'ef': []}")),
            (
                b"\x80\x02}(NK\x01J\xff\xff\xff\x7fK\x02NK\x03J\xff\xff\xff\x7fK\x04u.",
                Ok("{None: 3, 2147483647: 4}"),
            ),
            // {1.5: 2} in CPython: a float key is compared only with `any-keys`, refused
            (b"\x80\x02}(G?\xf8\x00\x00\x00\x00\x00\x00K\x01G?\xf8\x00\x00\x00\x00\x00\x00K\x02u.", Err(Stop::KeyType)),
            // one float key: nothing compared
            (b"\x80\x02}(G?\xf8\x00\x00\x00\x00\x00\x00K\x01u.", Ok("{1.5: 1}")),
        ]);
    }

    #[test]
    fn opcodes() {
        check(&[
            // python3: pickle.dumps([1, True, False, -5, 2**40, -2**63, 'ab', None], 0)
            (
                b"(lp0\nI1\naI01\naI00\naI-5\naL1099511627776L\naL-9223372036854775808L\naVab\np1\naNa.",
                Ok("[1, True, False, -5, 1099511627776, -9223372036854775808, 'ab', None]"),
            ),
            // python3: x = 'ab'; pickle.dumps({'k': [x, x], 'n': 2**62}, 0)
            (
                b"(dp0\nVk\np1\n(lp2\nVab\np3\nag3\nasVn\np4\nL4611686018427387904L\ns.",
                Ok("{'k': ['ab', 'ab'], 'n': 4611686018427387904}"),
            ),
            // python3: pickle.dumps([2**40, -2**63, 2**63 - 1, 0], 2)
            (
                b"\x80\x02]q\x00(\x8a\x06\x00\x00\x00\x00\x00\x01\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7fK\x00e.",
                Ok("[1099511627776, -9223372036854775808, 9223372036854775807, 0]"),
            ),
            // python3: pickle.dumps({1, 2, 3}, 4)
            (b"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00\x8f\x94(K\x01K\x02K\x03\x90.", Ok("{1, 2, 3}")),
            // python3: pickle.dumps(frozenset({4, 5}), 4)
            (b"\x80\x04\x95\x08\x00\x00\x00\x00\x00\x00\x00(K\x04K\x05\x91\x94.", Ok("frozenset({4, 5})")),
            // python3: pickle.dumps(bytearray(b'xy'), 5)
            (b"\x80\x05\x95\x0d\x00\x00\x00\x00\x00\x00\x00\x96\x02\x00\x00\x00\x00\x00\x00\x00xy\x94.", Ok("bytearray(b'xy')")),
            // python3: pickle.dumps([b'ab', 'cd'], 4)
            (b"\x80\x04\x95\x0f\x00\x00\x00\x00\x00\x00\x00]\x94(C\x02ab\x94\x8c\x02cd\x94e.", Ok("[b'ab', 'cd']")),
            // python2.7: pickle.dumps(['ab', u'x', 7], 0)
            (b"(lp0\nS'ab'\np1\naVx\np2\naI7\na.", Ok("['ab', 'x', 7]")),
            // python2.7: pickle.dumps(['ab', 'c\xe9'], 1); python3 loads 'ab' as a str (ASCII)
            // and, with encoding='bytes', 'c\xe9' as b'c\xe9' (brine's reading of non-ASCII)
            (b"]q\x00(U\x02abq\x01U\x02c\xe9q\x02e.", Ok("['ab', b'c\\xe9']")),
            // by hand, each checked with python3's pickle.loads:
            (b"T\x03\x00\x00\x00abcU\x01d\x86.", Ok("('abc', 'd')")),
            (b"\x80\x04\x8f(K\x01\x88K\x02\x90.", Ok("{1, 2}")),
            (
                b"\x80\x04\x8d\x02\x00\x00\x00\x00\x00\x00\x00ab\x8e\x02\x00\x00\x00\x00\x00\x00\x00cd\x86.",
                Ok("('ab', b'cd')"),
            ),
            (b"(I00\nI01\nI+1\nL12L\nI-0\nl.", Ok("[False, True, True, 12, False]")),
            // python3: pickle.dumps([2**64, -2**70], 2); pickle.dumps(2**64, 0)
            (
                b"\x80\x02]q\x00(\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\xc0e.",
                Ok("[18446744073709551616, -1180591620717411303424]"),
            ),
            (b"L18446744073709551616L\n.", Ok("18446744073709551616")),
            // refused, each with its code (CPython loads them); past 4300 digits (BigInt, as
            // CPython's ValueError) an INT is larger than the 4096-byte buffer (TooLarge):
            // python3: pickle.dumps(1.5, 0)
            (b"F1.5\n.", Err(Stop::FloatText)),
            // python3: pickle.dumps(complex(1, 2), 2)
            (
                b"\x80\x02c__builtin__\ncomplex\nq\x00G?\xf0\x00\x00\x00\x00\x00\x00G@\x00\x00\x00\x00\x00\x00\x00\x86q\x01Rq\x02.",
                Err(Stop::Opcode),
            ),
            // {'a': 1, frozenset({1}): 2}: a frozenset key compared, refused
            (b"\x80\x04}(\x8c\x01a\x94K\x01(K\x01\x91K\x02u.", Err(Stop::KeyType)),
        ]);
    }

    #[test]
    fn items_moved() {
        check(&[
            // python3: pickle.dumps([1, [2], 3], 0) (the outer list's items moved past the inner's)
            (b"(lp0\nI1\na(lp1\nI2\naaI3\na.", Ok("[1, [2], 3]")),
            // python3: pickle.dumps({'a': 1, 'b': {'c': 2}, 'd': 3}, 0)
            (
                b"(dp0\nVa\np1\nI1\nsVb\np2\n(dp3\nVc\np4\nI2\nssVd\np5\nI3\ns.",
                Ok("{'a': 1, 'b': {'c': 2}, 'd': 3}"),
            ),
            // by hand (python3's pickle.loads): moved, then a key given again by GET merged
            (b"(dp0\nVa\np1\n(lp2\nI1\naI2\nasVb\np3\nI3\nsg1\nI4\ns.", Ok("{'a': 4, 'b': 3}")),
        ]);
    }


    #[test]
    fn builtins_reduced() {
        check(&[
            // python3: pickle.dumps({1, 2}, 0)
            (b"c__builtin__\nset\np0\n((lp1\nI1\naI2\natp2\nRp3\n.", Ok("{1, 2}")),
            // python3: pickle.dumps({1, 2}, 2)
            (b"\x80\x02c__builtin__\nset\nq\x00]q\x01(K\x01K\x02e\x85q\x02Rq\x03.", Ok("{1, 2}")),
            // python3: pickle.dumps(frozenset(), 0)
            (b"c__builtin__\nfrozenset\np0\n((lp1\ntp2\nRp3\n.", Ok("frozenset()")),
            // python3: pickle.dumps(frozenset(), 2)
            (b"\x80\x02c__builtin__\nfrozenset\nq\x00]q\x01\x85q\x02Rq\x03.", Ok("frozenset()")),
            // python3: pickle.dumps(b'ab', 0)
            (b"c_codecs\nencode\np0\n(Vab\np1\nVlatin1\np2\ntp3\nRp4\n.", Ok("b'ab'")),
            // python3: pickle.dumps(b'ab', 2)
            (b"\x80\x02c_codecs\nencode\nq\x00X\x02\x00\x00\x00abq\x01X\x06\x00\x00\x00latin1q\x02\x86q\x03Rq\x04.", Ok("b'ab'")),
            // python3: pickle.dumps(bytearray(b'ab'), 0)
            (b"c__builtin__\nbytearray\np0\n(c_codecs\nencode\np1\n(Vab\np2\nVlatin1\np3\ntp4\nRp5\ntp6\nRp7\n.", Ok("bytearray(b'ab')")),
            // python3: pickle.dumps(bytearray(b'ab'), 2)
            (b"\x80\x02c__builtin__\nbytearray\nq\x00c_codecs\nencode\nq\x01X\x02\x00\x00\x00abq\x02X\x06\x00\x00\x00latin1q\x03\x86q\x04Rq\x05\x85q\x06Rq\x07.", Ok("bytearray(b'ab')")),
            // python3: pickle.dumps(bytearray(b'ab'), 4)
            (b"\x80\x04\x95#\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\x09bytearray\x94\x93\x94C\x02ab\x94\x85\x94R\x94.", Ok("bytearray(b'ab')")),
            // python3: pickle.dumps(b'', 0)
            (b"c__builtin__\nbytes\np0\n(tRp1\n.", Ok("b''")),
            // python3: pickle.dumps(b'', 2)
            (b"\x80\x02c__builtin__\nbytes\nq\x00)Rq\x01.", Ok("b''")),
            // python3: pickle.dumps(bytearray(), 0)
            (b"c__builtin__\nbytearray\np0\n(tRp1\n.", Ok("bytearray(b'')")),
            // python3: pickle.dumps(bytearray(), 2)
            (b"\x80\x02c__builtin__\nbytearray\nq\x00)Rq\x01.", Ok("bytearray(b'')")),
            // python3: pickle.dumps(bytearray(), 4)
            (b"\x80\x04\x95\x1d\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\x09bytearray\x94\x93\x94)R\x94.", Ok("bytearray(b'')")),
            // python3: pickle.dumps(b'\xe9', 2)
            (b"\x80\x02c_codecs\nencode\nq\x00X\x02\x00\x00\x00\xc3\xa9q\x01X\x06\x00\x00\x00latin1q\x02\x86q\x03Rq\x04.", Ok("b'\\xe9'")),
            // python3: pickle.dumps(b'\xe9', 0)
            (b"c_codecs\nencode\np0\n(V\xe9\np1\nVlatin1\np2\ntp3\nRp4\n.", Ok("b'\\xe9'")),
            // python3: pickle.dumps(bytearray(b'\xe9x'), 2)
            (
                b"\x80\x02c__builtin__\nbytearray\nq\x00c_codecs\nencode\nq\x01X\x03\x00\x00\x00\xc3\xa9xq\x02X\x06\x00\x00\x00latin1q\x03\x86q\x04Rq\x05\x85q\x06Rq\x07.",
                Ok("bytearray(b'\\xe9x')"),
            ),
            // python3: pickle.dumps(set, 2) (CPython loads it)
            (b"\x80\x02c__builtin__\nset\nq\x00.", Err(Stop::Opcode)),
            // python3: pickle.dumps(print, 4) (CPython loads it)
            (b"\x80\x04\x95\x16\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\x05print\x94\x93\x94.", Err(Stop::Opcode)),
        ]);
    }

    #[test]
    fn shared_containers() {
        check(&[
            // python3: x = [1]; v = [x, x]; pickle.dumps(v, 2)
            (b"\x80\x02]q\x00(]q\x01K\x01ah\x01e.", Ok("[[1], [1]]")),
            // python3: x = [1]; v = [x, {'k': x}]; pickle.dumps(v, 0)
            (b"(lp0\n(lp1\nI1\naa(dp2\nVk\np3\ng1\nsa.", Ok("[[1], {'k': [1]}]")),
            // python3: v = []; v.append(v); pickle.dumps(v, 2)
            (b"\x80\x02]q\x00h\x00a.", Ok("[[...]]")),
            // python3: v = {}; v['me'] = [v]; pickle.dumps(v, 4)
            (b"\x80\x04\x95\x0e\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x02me\x94]\x94h\x00as.", Ok("{'me': [{...}]}")),
            // python3: x = []; v = [x, x]; x.append(2); pickle.dumps(v, 4)
            (b"\x80\x04\x95\x0c\x00\x00\x00\x00\x00\x00\x00]\x94(]\x94K\x02ah\x01e.", Ok("[[2], [2]]")),
            // python3: v = []; then 30 times v = [v, v]; pickle.dumps(v, 2) (CPython loads it;
            // 2**31 units expanded, brine's limit 2**24)
            (b"\x80\x02]q\x00(]q\x01(]q\x02(]q\x03(]q\x04(]q\x05(]q\x06(]q\x07(]q\x08(]q\x09(]q\n(]q\x0b(]q\x0c(]q\x0d(]q\x0e(]q\x0f(]q\x10(]q\x11(]q\x12(]q\x13(]q\x14(]q\x15(]q\x16(]q\x17(]q\x18(]q\x19(]q\x1a(]q\x1b(]q\x1c(]q\x1d(]q\x1eh\x1eeh\x1deh\x1ceh\x1beh\x1aeh\x19eh\x18eh\x17eh\x16eh\x15eh\x14eh\x13eh\x12eh\x11eh\x10eh\x0feh\x0eeh\x0deh\x0ceh\x0beh\neh\x09eh\x08eh\x07eh\x06eh\x05eh\x04eh\x03eh\x02eh\x01e.", Err(Stop::Capacity)),
        ]);
    }

    #[test]
    fn escaped_text() {
        check(&[
            // python2.7: pickle.dumps(['a\nb', 'caf\xe9', u'caf\xe9', u'\u20ac', "it's"], 0);
            // python3 loads with encoding='bytes' [b'a\nb', b'caf\xe9', 'café', '€', b"it's"]
            // (ASCII STRINGs are strs by default: brine's reading)
            (
                b"(lp0\nS'a\\nb'\np1\naS'caf\\xe9'\np2\naVcaf\xe9\np3\naV\\u20ac\np4\naS\"it's\"\np5\na.",
                Ok("['a\\nb', b'caf\\xe9', 'café', '€', \"it's\"]"),
            ),
            // python3: pickle.dumps('\ud800', 4); pickle.dumps('\ud800', 0)
            (b"\x80\x04\x95\x07\x00\x00\x00\x00\x00\x00\x00\x8c\x03\xed\xa0\x80\x94.", Ok("'\\ud800'")),
            (b"V\\ud800\np0\n.", Ok("'\\ud800'")),
            // by hand (python3's pickle.loads): a key escaped, then given again as BINUNICODE
            (b"(dVa\\u000ab\nI1\nsX\x03\x00\x00\x00a\nbI2\ns.", Ok("{'a\\nb': 2}")),
            // by hand, each an error in python3's pickle.loads: a truncated \u escape, a
            // trailing backslash, a short \x escape, \U past U+10FFFF
            (b"Vab\\u12\n.", Err(Stop::Slow)),
            (b"S'ab\\'\n.", Err(Stop::Slow)),
            (b"S'\\x4'\n.", Err(Stop::Slow)),
            (b"V\\U00110000\n.", Err(Stop::Slow)),
        ]);
    }


    #[test]
    fn sets_in_cpython_order() {
        check(&[
            // set([16, 8, 0, 1]) added in this order; python3.12: repr(pickle.loads(FIXTURE)) (hash(None) fixed since 3.12)
            (
                b"\x80\x04\x8f(K\x10K\x08K\x00K\x01\x90.",
                Ok("{16, 8, 0, 1}"),
            ),
            // set([100, 3, -1, 1099511627776, 7, 24, 5, 1000, -7]) added in this order; python3.12: repr(pickle.loads(FIXTURE)) (hash(None) fixed since 3.12)
            (
                b"\x80\x04\x8f(KdK\x03J\xff\xff\xff\xff\x8a\x08\x00\x00\x00\x00\x00\x01\x00\x00K\x07K\x18K\x05J\xe8\x03\x00\x00J\xf9\xff\xff\xff\x90.",
                Ok("{1099511627776, 3, 100, 5, 7, 1000, 24, -7, -1}"),
            ),
            // set([True, 0, None, 9, 1, -2, -9223372036854775808]) added in this order; python3.12: repr(pickle.loads(FIXTURE)) (hash(None) fixed since 3.12)
            (
                b"\x80\x04\x8f(\x88K\x00NK\x09K\x01J\xfe\xff\xff\xff\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80\x90.",
                Ok("{0, True, None, 9, -9223372036854775808, -2}"),
            ),
            // set([-37, 386, 73, 377, 446, 299, -24, -38, 20, 375, 101, -306, -311, 323, 24, -13, 144, 128, 312, -310, -404, -43, -190, -355, -408, 51, 329, 411, 210, 149, -458, 109, -95, 487, 169, 256, 130, 165, -339, 138]) added in this order; python3.12: repr(pickle.loads(FIXTURE)) (hash(None) fixed since 3.12)
            (
                b"\x80\x04\x8f(J\xdb\xff\xff\xffJ\x82\x01\x00\x00KIJy\x01\x00\x00J\xbe\x01\x00\x00J+\x01\x00\x00J\xe8\xff\xff\xffJ\xda\xff\xff\xffK\x14Jw\x01\x00\x00KeJ\xce\xfe\xff\xffJ\xc9\xfe\xff\xffJC\x01\x00\x00K\x18J\xf3\xff\xff\xffK\x90K\x80J8\x01\x00\x00J\xca\xfe\xff\xffJl\xfe\xff\xffJ\xd5\xff\xff\xffJB\xff\xff\xffJ\x9d\xfe\xff\xffJh\xfe\xff\xffK3JI\x01\x00\x00J\x9b\x01\x00\x00K\xd2K\x95J6\xfe\xff\xffKmJ\xa1\xff\xff\xffJ\xe7\x01\x00\x00K\xa9J\x00\x01\x00\x00K\x82K\xa5J\xad\xfe\xff\xffK\x8a\x90.",
                Ok("{128, 256, 386, 130, 138, 144, 20, 149, 24, 411, -355, -95, 165, 169, 299, -339, 51, -458, 312, 446, -190, 323, 73, -311, -310, 329, -306, 210, -43, -38, -37, 101, 487, -24, -408, -404, 109, -13, 375, 377}"),
            ),
            // frozenset([33, 1, 65, 97, 2, 129]) added in this order; python3.12: repr(pickle.loads(FIXTURE)) (hash(None) fixed since 3.12)
            (
                b"\x80\x04(K!K\x01KAKaK\x02K\x81\x91.",
                Ok("frozenset({65, 33, 2, 1, 97, 129})"),
            ),
            // python3.12: pickle.dumps({5, 13, 21, 29, 37, 45}, 2)
            (b"\x80\x02c__builtin__\nset\nq\x00]q\x01(K\x0dK\x1dK\x05K%K\x15K-e\x85q\x02Rq\x03.", Ok("{37, 5, 13, 45, 21, 29}")),
        ]);
    }

    #[test]
    fn memo_any_index() {
        check(&[
            // by hand, as brine's memoize_after_a_hole test (python3's pickle.loads each):
            // MEMOIZE after a BINPUT past the end stores at len(memo), the slots filled
            (b"\x80\x04(K\x01q\x03K\x02\x94K\x03\x94K\x04\x94h\x03h\x01t.", Ok("(1, 2, 3, 4, 4, 2)")),
            (b"(I7\np5\nI8\np2\ng5\ng2\nt.", Ok("(7, 8, 7, 8)")),
            // errors: a slot never filled ('Memo value not found at index 0'), a negative PUT
            (b"\x80\x04(K\x01q\x03K\x02\x94K\x03\x94K\x04\x94h\x03h\x00t.", Err(Stop::Slow)),
            (b"(I7\np-1\n.", Err(Stop::Slow)),
            // CPython loads it (1); past the prototype's 1,024 memo slots
            (b"\x80\x02K\x01r\x00\x04\x00\x00.", Err(Stop::Capacity)),
        ]);
    }

    #[test]
    fn refusals_name_where() {
        // (fixture, code, offset, opcode); python3's pickle.loads of each: a KeyError
        // (memo 5 never put), 'odd number of items for SETITEMS', 'the STRING opcode argument
        // must be quoted', a global (builtins.print; CPython loads it)
        let cases: [(&[u8], Stop, u32, u8); 4] = [
            (b"\x80\x02]K\x01h\x05.", Stop::Slow, 5, b'h'),
            (b"\x80\x02}(K\x01u.", Stop::Slow, 6, b'u'),
            (b"\x80\x02S'ab\n.", Stop::Slow, 2, b'S'),
            (b"\x80\x02c__builtin__\nprint\n.", Stop::Opcode, 2, b'c'),
        ];
        let stream: Vec<u8> = cases.iter().flat_map(|c| c.0.iter().copied()).collect();
        let mut io = Chunks::new(&stream, 5);
        let mut client = client();
        client.greeted = true;
        for (fixture, stop, at, op) in cases {
            let Ok(Event::Skipped(Fault::Refused(s))) = client.next(&mut io) else {
                panic!("not refused: {fixture:?}");
            };
            assert_eq!((s, client.refused), (stop, (at, op)), "{fixture:?}");
        }
    }

    /// The first message's id as brine's handshake takes it, or the fault.
    fn first(stream: &[u8]) -> Result<String, Fault> {
        let mut io = Chunks::new(stream, 64);
        let mut id = None;
        let fault = brine_lean_client(&mut client(), &mut io, b"", &mut |event| {
            if let Event::ClientId(a, node, p) = event {
                let mut out = String::new();
                repr(a, *node, p, &mut out);
                id = Some(out);
            }
        });
        id.ok_or(fault)
    }

    #[test]
    fn client_ids() {
        // python3: pickle.dumps('abc', 4) (a bare str)
        assert_eq!(first(b"\x80\x04\x95\x07\x00\x00\x00\x00\x00\x00\x00\x8c\x03abc\x94."), Ok("'abc'".into()));
        // python3: pickle.dumps({'name': 'srv', 'clientid': 2**70}, 2)
        assert_eq!(
            first(b"\x80\x02}q\x00(X\x04\x00\x00\x00nameq\x01X\x03\x00\x00\x00srvq\x02X\x08\x00\x00\x00clientidq\x03\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00@u."),
            Ok("1180591620717411303424".into())
        );
        // by hand: the key escaped in protocol 0 ({'clientid': 5})
        assert_eq!(first(b"(dV\\u0063lientid\nI5\ns."), Ok("5".into()));
        // python3: pickle.dumps([7], 4) (no id); pickle.dumps({'clientid': 'x' * 120}, 4) (149
        // bytes, over brine's 128)
        assert!(first(b"\x80\x04\x95\x06\x00\x00\x00\x00\x00\x00\x00]\x94K\x07a.") == Err(Fault::NoClientId));
        let long = [&b"\x80\x04\x95\x8a\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94\x8cx"[..], &[b'x'; 120], b"\x94s."].concat();
        assert!(first(&long) == Err(Fault::NoClientId));
    }

    #[test]
    fn capacity_apart_from_errors() {
        check(&[
            // python3: v = []; then 64 times v = [v]; pickle.dumps(v, 2) (CPython loads it):
            // 65 levels, past MAX_DEPTH
            (b"\x80\x02]q\x00]q\x01]q\x02]q\x03]q\x04]q\x05]q\x06]q\x07]q\x08]q\x09]q\n]q\x0b]q\x0c]q\x0d]q\x0e]q\x0f]q\x10]q\x11]q\x12]q\x13]q\x14]q\x15]q\x16]q\x17]q\x18]q\x19]q\x1a]q\x1b]q\x1c]q\x1d]q\x1e]q\x1f]q ]q!]q\"]q#]q$]q%]q&]q']q(]q)]q*]q+]q,]q-]q.]q/]q0]q1]q2]q3]q4]q5]q6]q7]q8]q9]q:]q;]q<]q=]q>]q?]q@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.", Err(Stop::Capacity)),
            // python3: pickle.dumps([[]] * 1, 2) for contrast: loads
            (b"\x80\x02]q\x00]q\x01a.", Ok("[[]]")),
        ]);
    }

    /// The lab message of brine's benchmarks (core/benches/fixtures, written by
    /// gen_fixtures.py with python3; its repr by CPython) and the identity, through the session.
    #[test]
    fn lab_fixtures() {
        let message: &[u8] = include_bytes!("../../core/benches/fixtures/message.pickle");
        let message_repr = include_str!("../../core/benches/fixtures/message.repr");
        let identity: &[u8] = include_bytes!("../../core/benches/fixtures/identity.pickle");
        let identity_repr = include_str!("../../core/benches/fixtures/identity.repr");
        check(&[(message, Ok(message_repr.trim_end())), (identity, Ok(identity_repr.trim_end()))]);
    }
}
