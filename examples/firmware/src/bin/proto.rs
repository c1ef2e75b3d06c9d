//! Prototype (issue 21 point 3, session 11; not the lab client): the smallest lab
//! configuration with the receive side in the lean style of bench/prototypes/
//! lean_client_flash.rs — one 4096-byte buffer, a skip-only scan that finds where a pickle
//! ends across reads and skips one larger than the buffer, the handshake as a first message
//! `{'clientid': id}` and the identity written as the bytes build.rs pickled — in place of
//! brine-core's `Session`, blocking `Client`, framer and handshake, and brine-core's own
//! exact decoder (`Decoder::decode`, the lab client's small decoder) for every whole message.
//! Refusals and faults are printed by kind (`lab::print_skipped`, as the lab client without
//! `repr`). It measures, on the same board and profile as footprint.sh, what the session side
//! costs when written this way (BENCHMARKS.md, "Firmware footprint").
//!
//! What it leaves out against the lab client: length-prefixed framings and other greetings
//! (the lab client leaves them out too, without `dialects`), re-decoding after a protocol 4
//! FRAME wait (it scans every incomplete message), a `Waiting` state beyond "inside a
//! message or not", the send queue (it writes the identity only) and the public API.

#![no_std]
#![no_main]

use brine_core::pickle::{Error, Value};
use brine_core::session::SkipReason;
use brine_firmware::lab::{self, LabDecoder, IDLE_MS, TIMEOUT_MS};
use brine_firmware::uart::{self, Uart0};
use brine_firmware::{clock, exit, fail, report_memory};
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use embedded_io::{Read, Write};

/// The receive buffer: the lab's `recv(4096)`.
const RX: usize = 4096;

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
        b'('
        | b'.'
        | b'0'
        | b'1'
        | b'2'
        | b'N'
        | b'R'
        | b'b'
        | b'a'
        | b'e'
        | b'd'
        | b'}'
        | b'l'
        | b']'
        | b'o'
        | b's'
        | b'u'
        | b't'
        | b')'
        | b'Q'
        | 0x81
        | 0x85..=0x89
        | 0x8f..=0x94
        | 0x97
        | 0x98 => Scan::Skip(0),
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

/// Scans `bytes` on from `state`: `Ok(Some(n))` when a STOP ends the pickle after `n` of
/// them; `Err(i)`: byte `i` is no opcode.
fn scan(state: &mut Scan, bytes: &[u8]) -> Result<Option<usize>, usize> {
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match *state {
            Scan::Op => {
                if byte == b'.' {
                    return Ok(Some(i + 1));
                }
                *state = argument(byte).ok_or(i)?;
                i += 1;
            }
            Scan::Skip(n) => {
                let take = n.min((bytes.len() - i) as u64);
                i += take as usize;
                *state = if take == n {
                    Scan::Op
                } else {
                    Scan::Skip(n - take)
                };
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
            Scan::Lines(n) => {
                let rest = bytes.get(i..).unwrap_or_default();
                match rest.iter().position(|&b| b == b'\n') {
                    Some(at) => {
                        i += at + 1;
                        *state = if n == 1 { Scan::Op } else { Scan::Lines(n - 1) };
                    }
                    None => i = bytes.len(),
                }
            }
        }
    }
    Ok(None)
}

/// What the receive side got.
enum Got {
    /// A whole message: `rx[start..end]`.
    Message(usize, usize),
    /// A message larger than the buffer, skipped: its length.
    TooLarge(usize),
    /// No byte for the wait between messages.
    Idle,
}

/// Why the receive loop stopped.
enum Stop {
    /// The UART failed (a timeout inside a message is one), or the peer sent no opcode.
    Uart(uart::Error),
    NotAnOpcode {
        stream_offset: usize,
    },
}

/// The receive side: the buffer, the scan's state and the decoder.
struct Receiver {
    rx: [u8; RX],
    head: usize,
    tail: usize,
    /// Bytes after `head` the scan has read.
    scanned: usize,
    /// Bytes of a message larger than the buffer dropped so far (0: none under way).
    skipped: usize,
    /// Stream offset of `rx[0]`.
    offset: usize,
    scan: Scan,
    decoder: LabDecoder,
}

impl Receiver {
    /// The next whole message, one skipped as larger than the buffer, or `Idle` when no
    /// byte came for `between_ms` between messages.
    fn next(&mut self, uart: &mut Uart0, between_ms: u32) -> Result<Got, Stop> {
        loop {
            let from = self.head + self.scanned;
            let seen = self.rx.get(from..self.tail).unwrap_or_default();
            match scan(&mut self.scan, seen) {
                Ok(Some(n)) => {
                    let (start, end) = (self.head, from + n);
                    self.head = end;
                    self.scanned = 0;
                    self.scan = Scan::Op;
                    let skipped = core::mem::take(&mut self.skipped);
                    return Ok(if skipped > 0 {
                        Got::TooLarge(skipped + end - start)
                    } else {
                        Got::Message(start, end)
                    });
                }
                Ok(None) => {}
                Err(i) => {
                    return Err(Stop::NotAnOpcode {
                        stream_offset: self.offset + from + i,
                    })
                }
            }
            self.scanned = self.tail - self.head;
            if self.skipped > 0 || self.scanned == RX {
                // Larger than the buffer: drop what was scanned, keep scanning what comes.
                self.skipped += self.scanned;
                self.head = self.tail;
                self.scanned = 0;
            }
            if self.head > 0 {
                // Forward, byte by byte (the destination is before the source): no memmove.
                for i in self.head..self.tail {
                    self.rx[i - self.head] = self.rx[i];
                }
                self.offset += self.head;
                self.tail -= self.head;
                self.head = 0;
            }
            let inside = self.tail > 0 || self.skipped > 0;
            uart.set_timeout(if inside { TIMEOUT_MS } else { between_ms });
            let room = self.rx.get_mut(self.tail..).unwrap_or_default();
            match uart.read(room) {
                Ok(n) => self.tail += n,
                Err(uart::Error::TimedOut) if !inside => return Ok(Got::Idle),
                Err(e) => return Err(Stop::Uart(e)),
            }
        }
    }

    /// Message `start..end` decoded.
    fn decode(&mut self, start: usize, end: usize) -> Result<Value<'_>, Error> {
        let pickle = self.rx.get(start..end).unwrap_or_default();
        self.decoder.decode(pickle)
    }
}

#[entry]
fn main() -> ! {
    let peripherals = cortex_m::Peripherals::take().unwrap_or_else(|| fail("peripherals taken"));
    clock::start(peripherals.SYST);
    let mut uart = Uart0::take().unwrap_or_else(|| fail("UART0 taken"));
    let receiver = new_receiver();
    let code = run(&mut uart, receiver);
    report_memory(core::mem::size_of::<Receiver>());
    exit(code)
}

/// The receiver in a static in `.bss`, handed out once (as the lab client's).
#[inline(never)]
fn new_receiver() -> &'static mut Receiver {
    cortex_m::singleton!(: Receiver = Receiver {
        rx: [0; RX],
        head: 0,
        tail: 0,
        scanned: 0,
        skipped: 0,
        offset: 0,
        scan: Scan::Op,
        decoder: LabDecoder::new(),
    })
    .unwrap_or_else(|| fail("receiver taken"))
}

/// The handshake, then messages until the line is idle; the exit status.
fn run(uart: &mut Uart0, rx: &mut Receiver) -> u8 {
    hprintln!("brine prototype: waiting for the client id on UART0");
    let mut messages = 0u32;
    let mut listening = false;
    loop {
        let between_ms = if listening { IDLE_MS } else { TIMEOUT_MS };
        let message = match rx.next(uart, between_ms) {
            Ok(Got::Message(start, end)) => (start, end),
            Ok(Got::TooLarge(len)) => {
                if !listening {
                    hprintln!("error: first message over the buffer, bytes {}", len);
                    return 1;
                }
                lab::print_skipped(len, &SkipReason::TooLarge { limit: RX });
                continue;
            }
            Ok(Got::Idle) if listening => {
                hprintln!("done: idle for {} ms after {} messages", IDLE_MS, messages);
                return 0;
            }
            Ok(Got::Idle) => {
                hprintln!("error: timed out waiting for the client id");
                return 1;
            }
            Err(Stop::Uart(e)) => {
                hprintln!("error: transport: {}", e);
                return 1;
            }
            Err(Stop::NotAnOpcode { stream_offset }) => {
                hprintln!("error: not an opcode at stream offset {}", stream_offset);
                return 1;
            }
        };
        let (start, end) = message;
        let value = match rx.decode(start, end) {
            Ok(value) => value,
            Err(e) if listening => {
                lab::print_skipped(end - start, &SkipReason::Refused(e));
                continue;
            }
            Err(e) => {
                lab::print_skipped(end - start, &SkipReason::Refused(e));
                hprintln!("error: the first message is not a client id");
                return 1;
            }
        };
        if listening {
            messages += 1;
            lab::print_message(&value);
            continue;
        }
        // The first message: `{'clientid': id}`, then the identity pickled by build.rs.
        match value.as_dict().and_then(|d| d.get("clientid")) {
            Some(id) => print_id(id),
            None => {
                hprintln!("error: the first message is not a client id");
                return 1;
            }
        }
        if let Err(e) = uart.write_all(lab::IDENTITY_PICKLE.0) {
            hprintln!("error: transport: {}", e);
            return 1;
        }
        hprintln!("sent identity");
        listening = true;
    }
}

/// The id printed out of line, as the lab client's `lab::print_client_id`.
#[inline(never)]
fn print_id(value: Value<'_>) {
    lab::print_id_value(value);
}
