//! What the lab clients share: the build-time settings, the identity they send, and how they
//! report events over semihosting (one line each: `client id <id>`, `message <repr>`,
//! `skipped <N> bytes: <reason>`, `closed by the server`, `error: <message>`; without the `repr`
//! feature a reason or error is printed by its kind and offsets, not its text).
//!
//! Settings are environment variables read by `option_env!` when this crate is built, so a
//! change rebuilds it: `BRINE_NAME`, `BRINE_EMAIL`, `BRINE_STUDENT_ID`, `BRINE_GITHUB` (the
//! identity's fields), `BRINE_KEYS` (`lab`, the default, or `handout`: the keys they are sent
//! under, as the `brine` command's `--keys`; see [`crate::keys`]), `BRINE_TIMEOUT_MS`
//! (default 10000: each wait for the server),
//! and for the Ethernet clients `BRINE_SERVER` (`a.b.c.d:port`, default `10.0.2.2:12000`,
//! QEMU's user-mode network's name for the host's 127.0.0.1).

use brine_core::blocking;
#[cfg(not(feature = "repr"))]
use brine_core::pickle;
use brine_core::pickle::{Decoder, Pickled, Value};
use brine_core::session::{ClientId, Event, Session, SkipReason, Waiting, CLIENT_ID_VALUES};
use brine_core::FieldValue;
#[cfg(feature = "pickler")]
use brine_core::Identity;
#[cfg(not(feature = "repr"))]
use cortex_m_semihosting::hprint;
use cortex_m_semihosting::hprintln;

use crate::keys::{self, Keys};

pub const NAME: &str = setting(option_env!("BRINE_NAME"), "Jose Ortiz");
pub const EMAIL: &str = setting(option_env!("BRINE_EMAIL"), "jose@sfsu.edu");
pub const STUDENT_ID: &str = setting(option_env!("BRINE_STUDENT_ID"), "917654321");
pub const GITHUB: &str = setting(option_env!("BRINE_GITHUB"), "jortiz");
/// The keys the identity is sent under (`BRINE_KEYS`).
pub const KEYS: Keys = Keys::from_setting(option_env!("BRINE_KEYS"));
/// Bounds each wait: for a DHCP lease, a connection, the client id, the rest of a message.
pub const TIMEOUT_MS: u32 = number(option_env!("BRINE_TIMEOUT_MS"), 10_000);
/// The UART clients end after this long without a byte (a UART has no "closed").
pub const IDLE_MS: u32 = number(option_env!("BRINE_IDLE_MS"), 3_000);
/// The server's IPv4 address and port.
pub const SERVER: ([u8; 4], u16) = server(setting(option_env!("BRINE_SERVER"), "10.0.2.2:12000"));

/// The lab clients' decoder: 32 values, container items, stack entries and memo slots (under
/// 1 KiB; the UART client prints its size at exit), enough for lab messages such as `{'course': 'CSC 645', 'lab': 2, 'scores': [98,
/// 87.5], 'passed': True, 'notes': None}`; a larger message is skipped and reported. The same
/// sizes as the decoder that re-reads the client id (`CLIENT_ID_VALUES`), so the firmware links
/// one copy of the decoder's machine, not two (about 9 KB of flash), and the session does not
/// decode the client id a second time to check that decoder holds it.
pub type LabDecoder =
    Decoder<CLIENT_ID_VALUES, CLIENT_ID_VALUES, CLIENT_ID_VALUES, CLIENT_ID_VALUES>;

/// The lab clients' session: the default 4096-byte receive and transmit buffers, and the
/// small [`LabDecoder`] (instead of the default 27 KiB one). A larger message is skipped and
/// reported; the session goes on with the next one.
pub type LabSession = Session<4096, 4096, LabDecoder>;

/// The identity's fields, in the order sent.
pub const FIELDS: [(&str, FieldValue<'static>); 4] =
    keys::fields(KEYS, [NAME, EMAIL, STUDENT_ID, GITHUB]);

/// `sent identity: <key>=<value> ...` and a newline, written out at compile time (an int id
/// as the digits it was set as): printed in one write, no formatting at run time.
pub const SENT_IDENTITY: &str = crate::const_line!(
    Part::Text("sent identity: "),
    Part::Text(FIELDS[0].0),
    Part::Text("="),
    Part::Text(field_text(FIELDS[0].1)),
    Part::Text(" "),
    Part::Text(FIELDS[1].0),
    Part::Text("="),
    Part::Text(field_text(FIELDS[1].1)),
    Part::Text(" "),
    Part::Text(FIELDS[2].0),
    Part::Text("="),
    Part::Text(field_text(FIELDS[2].1)),
    Part::Text(" "),
    Part::Text(FIELDS[3].0),
    Part::Text("="),
    Part::Text(field_text(FIELDS[3].1)),
    Part::Text("\n"),
);

/// A field's value as set: an int id is sent as the digits of [`STUDENT_ID`].
const fn field_text(value: FieldValue<'static>) -> &'static str {
    match value {
        FieldValue::Int(_) => STUDENT_ID,
        FieldValue::Str(s) => s,
    }
}

/// A piece of a line written out at compile time ([`const_line!`]).
#[derive(Clone, Copy)]
pub enum Part {
    /// Text as it is.
    Text(&'static str),
    /// A number in decimal.
    Num(usize),
}

/// The length of `parts` written out.
pub const fn line_len(parts: &[Part]) -> usize {
    let mut len = 0;
    let mut i = 0;
    while i < parts.len() {
        len += match parts[i] {
            Part::Text(s) => s.len(),
            Part::Num(mut n) => {
                let mut digits = 1;
                while n >= 10 {
                    n /= 10;
                    digits += 1;
                }
                digits
            }
        };
        i += 1;
    }
    len
}

/// `parts` written out, in exactly `N` = [`line_len`] bytes.
pub const fn line<const N: usize>(parts: &[Part]) -> [u8; N] {
    let mut out = [0; N];
    let mut at = 0;
    let mut i = 0;
    while i < parts.len() {
        match parts[i] {
            Part::Text(s) => {
                let bytes = s.as_bytes();
                let mut j = 0;
                while j < bytes.len() {
                    out[at] = bytes[j];
                    at += 1;
                    j += 1;
                }
            }
            Part::Num(n) => {
                let len = line_len(&[Part::Num(n)]);
                let mut rest = n;
                let mut j = len;
                while j > 0 {
                    j -= 1;
                    out[at + j] = b'0' + (rest % 10) as u8;
                    rest /= 10;
                }
                at += len;
            }
        }
        i += 1;
    }
    out
}

/// A `&'static str` of [`Part`]s written out at compile time: a line printed with one write
/// (`hprint!`) instead of formatted at run time.
#[macro_export]
macro_rules! const_line {
    ($($part:expr),* $(,)?) => {{
        const PARTS: &[$crate::lab::Part] = &[$($part),*];
        const BYTES: [u8; $crate::lab::line_len(PARTS)] = $crate::lab::line(PARTS);
        const LINE: &str = match core::str::from_utf8(&BYTES) {
            Ok(line) => line,
            Err(_) => panic!("a const_line! is not UTF-8"),
        };
        LINE
    }};
}

/// The identity sent after the client id, pickled at run time (brine-core's `pickler`).
#[cfg(feature = "pickler")]
pub fn identity() -> Identity<'static, 4> {
    let mut identity = Identity::new();
    for (key, value) in FIELDS {
        // Four slots for four keys: cannot be full.
        let _ = identity.insert(key, value);
    }
    identity
}

/// The same identity pickled by build.rs (protocol 4, as CPython's `pickle.dumps` writes it),
/// for a firmware built without brine-core's pickler.
pub const IDENTITY_PICKLE: Pickled<'static> =
    Pickled(include_bytes!(concat!(env!("OUT_DIR"), "/identity.pickle")));

/// Prints `event`'s line; true for the last event ([`Event::Closed`]).
pub fn report(event: &Event<'_>) -> bool {
    match event {
        Event::ClientId(id) => print_client_id(id),
        Event::Message(value) => print_message(value),
        Event::Skipped { len, reason } => print_skipped(*len, reason),
        Event::Closed => {
            hprintln!("closed by the server");
            return true;
        }
        // Events added to the core later: not part of this client's output.
        _ => {}
    }
    false
}

/// Prints `message <repr>` (Python's repr, feature `repr`).
#[cfg(feature = "repr")]
pub fn print_message(value: &Value<'_>) {
    hprintln!("message {}", value);
}

/// Without `repr`: `message <type>`, and for a container `message <type> of <n> items`
/// (the line in parts: the type written as it is, one format for the count).
#[cfg(not(feature = "repr"))]
pub fn print_message(value: &Value<'_>) {
    hprint!("message ");
    hprint!(value.type_name());
    match value {
        Value::List(s) | Value::Tuple(s) | Value::Set(s) | Value::FrozenSet(s) => {
            hprintln!(" of {} items", s.len())
        }
        Value::Dict(d) => hprintln!(" of {} items", d.len()),
        _ => hprintln!(),
    }
}

/// Prints `client id <id>` as Python's `print(id)` (`ClientId`'s `Display`).
#[cfg(feature = "repr")]
pub fn print_client_id(id: &ClientId) {
    hprintln!("client id {}", id);
}

/// Prints `client id <id>` without `repr`: an `int` of 64 bits or a `str` as itself, any other
/// id by its type (`client id <a int>` for one beyond 64 bits: its pickle is
/// `ClientId::pickle`). No `Display` of brine's and no 64-bit division (`print_digits`).
/// Not inlined: the id's decoder (0.8 KiB) lives on this frame only while printing, not in
/// the caller's for the whole session.
#[cfg(not(feature = "repr"))]
#[inline(never)]
pub fn print_client_id(id: &ClientId) {
    id.with_value(print_id_value);
}

/// Prints a client id's value (as its repr).
#[cfg(feature = "repr")]
pub fn print_id_value(value: Value<'_>) {
    hprintln!("client id {}", value);
}

/// Prints a client id's value: an int by 32-bit divisions, a str, other values by type.
/// Inline: its one caller in each firmware is not inlined itself (`print_client_id`). One
/// line in parts, each written as it is (no formatting, no buffer).
#[cfg(not(feature = "repr"))]
#[inline]
pub fn print_id_value(value: Value<'_>) {
    hprint!("client id ");
    match value {
        Value::Int(i) => {
            if i < 0 {
                hprint!("-");
            }
            print_digits(i.unsigned_abs());
        }
        Value::Str(s) => hprint!(s.as_str().unwrap_or("<a str with lone surrogates>")),
        other => {
            hprint!("<a ");
            hprint!(other.type_name());
            hprint!(">");
        }
    }
    hprintln!();
}

/// Prints `n` in decimal, a digit per write, by 32-bit divisions only (a `u64` division
/// links compiler_builtins' `__aeabi_uldivmod`, about 900 bytes).
#[cfg(not(feature = "repr"))]
fn print_digits(n: u64) {
    // n / 10 from its 32-bit halves: 2^32 = 10 * 429_496_729 + 6.
    let (hi, lo) = ((n >> 32) as u32, n as u32);
    let (hi_q, r) = (hi / 10, hi % 10);
    let low = lo % 10 + r * 6;
    let lo_q = r * 429_496_729 + lo / 10 + low / 10;
    let rest = (u64::from(hi_q) << 32) | u64::from(lo_q);
    if rest != 0 {
        print_digits(rest);
    }
    let digit = (low % 10) as usize;
    hprint!("0123456789".get(digit..=digit).unwrap_or("?"));
}

/// Prints `skipped <N> bytes: <reason>` (the reason's text with `repr`, its kind without).
pub fn print_skipped(len: usize, reason: &SkipReason) {
    #[cfg(feature = "repr")]
    hprintln!("skipped {} bytes: {}", len, reason);
    #[cfg(not(feature = "repr"))]
    {
        hprint!("skipped {} bytes: ", len);
        match reason {
            SkipReason::Refused(e) => hprintln!("{} at byte {}", kind(e), at(e)),
            _ => hprintln!("over the buffer"),
        }
    }
}

/// Prints `error: <why>`: the error's text (`Display`) with `repr`; without it the error by
/// its kind and where it happened (no `Display` of brine's errors, whose text is about 5 KB
/// of flash): e.g. `error: invalid pickle at stream offset 12: truncated at byte 9`.
pub fn print_error<E: core::fmt::Display>(error: &blocking::Error<E>) {
    #[cfg(feature = "repr")]
    hprintln!("error: {}", error);
    #[cfg(not(feature = "repr"))]
    print_error_kind(error);
}

#[cfg(not(feature = "repr"))]
fn print_error_kind<E: core::fmt::Display>(error: &blocking::Error<E>) {
    use brine_core::session::{Error, Limit, PeerFault};
    // The line in parts: `error: ` once, then what the error says.
    hprint!("error: ");
    let session = match error {
        blocking::Error::Transport(e) => return hprintln!("transport: {}", e),
        blocking::Error::Session(e) => e,
        _ => return hprintln!("write accepted 0 bytes"),
    };
    let (what, n) = match session {
        Error::Peer(PeerFault::InvalidPickle {
            stream_offset,
            error,
        }) => {
            let (kind, at) = (kind(error), at(error));
            return hprintln!(
                "invalid pickle at stream offset {}: {} at byte {}",
                stream_offset,
                kind,
                at
            );
        }
        Error::Encode(e) => {
            hprint!("cannot pickle: ");
            (kind(e), None)
        }
        Error::Peer(PeerFault::ClosedBeforeClientId) => ("closed before the client id", None),
        Error::Peer(PeerFault::ClosedMidMessage { received }) => {
            ("closed mid-message, bytes", Some(*received))
        }
        Error::Peer(PeerFault::BadPrefix { stream_offset, .. }) => {
            ("bad length prefix at stream offset", Some(*stream_offset))
        }
        Error::Peer(PeerFault::NotAClientId { .. }) => {
            ("the first message is not a client id", None)
        }
        Error::Limit(Limit::FirstMessageTooLarge { limit }) => {
            ("first message over the buffer, bytes", Some(*limit))
        }
        Error::Limit(Limit::ClientIdTooLarge { len, .. }) => {
            ("client id too large, bytes", Some(*len))
        }
        Error::Limit(Limit::TransmitBufferTooSmall { capacity }) => {
            ("message over the transmit buffer, bytes", Some(*capacity))
        }
        _ => ("session misused or closed", None),
    };
    hprint!(what);
    match n {
        Some(n) => hprintln!(" {}", n),
        None => hprintln!(),
    }
}

/// A decoding error's kind in a few words (the decoder's own reason where it has one).
/// Not inlined: shared by the skipped and error lines.
#[cfg(not(feature = "repr"))]
#[inline(never)]
fn kind(error: &pickle::Error) -> &'static str {
    use pickle::Error as E;
    match error {
        E::Truncated { .. } => "truncated",
        E::UnknownOpcode { .. } => "not an opcode",
        E::Refused { .. } => "refused opcode",
        E::InvalidArgument { reason, .. } | E::InvalidStack { reason, .. } => reason,
        E::MemoMissing { .. } => "memo entry missing",
        E::UnsupportedProtocol { .. } => "unsupported protocol",
        E::InvalidUtf8 { .. } => "invalid UTF-8",
        E::Unhashable { .. } => "unhashable key",
        E::Recursive { .. } => "recursive container",
        E::Capacity { .. } => "over the decoder's capacity",
        E::BufferFull { .. } => "buffer full",
        _ => "other",
    }
}

/// The error's byte offset in its pickle (0 when it has none).
#[cfg(not(feature = "repr"))]
fn at(error: &pickle::Error) -> usize {
    error.offset().unwrap_or(0)
}

/// How long to wait in `waiting`: [`TIMEOUT_MS`] for the client id and for the rest of a
/// started message; `None` (as long as the server stays connected) for the next message.
pub fn timeout(waiting: Waiting) -> Option<u32> {
    match waiting {
        Waiting::ClientId | Waiting::RestOfMessage => Some(TIMEOUT_MS),
        _ => None,
    }
}

/// Prints `error: timed out after <ms> ms waiting for <what>`.
pub fn report_timeout(waiting: Waiting) {
    let what = match waiting {
        Waiting::ClientId => "the client id",
        Waiting::RestOfMessage => "the rest of a message",
        _ => "the server",
    };
    hprintln!(
        "error: timed out after {} ms waiting for {}",
        TIMEOUT_MS,
        what
    );
}

/// `value`, or `default` when the variable is unset or empty.
pub const fn setting(value: Option<&'static str>, default: &'static str) -> &'static str {
    match value {
        Some(s) if !s.is_empty() => s,
        _ => default,
    }
}

/// A decimal `u32` setting; a malformed one stops the build.
pub const fn number(value: Option<&str>, default: u32) -> u32 {
    match value {
        Some(s) if !s.is_empty() => match decimal(s.as_bytes(), 0, s.len()) {
            Some(n) => n,
            None => panic!("a BRINE_* number setting is not a decimal u32"),
        },
        _ => default,
    }
}

/// The decimal number in `bytes[from..to]`, if it is one and fits a `u32`.
const fn decimal(bytes: &[u8], from: usize, to: usize) -> Option<u32> {
    if from >= to {
        return None;
    }
    let mut n: u32 = 0;
    let mut i = from;
    while i < to {
        let digit = bytes[i];
        if !digit.is_ascii_digit() {
            return None;
        }
        n = match n.checked_mul(10) {
            Some(m) => match m.checked_add((digit - b'0') as u32) {
                Some(m) => m,
                None => return None,
            },
            None => return None,
        };
        i += 1;
    }
    Some(n)
}

/// `a.b.c.d:port`; anything else stops the build.
const fn server(text: &str) -> ([u8; 4], u16) {
    let bytes = text.as_bytes();
    let mut ip = [0u8; 4];
    let mut part = 0;
    let mut start = 0;
    let mut i = 0;
    while i <= bytes.len() {
        let end = i == bytes.len();
        let sep = if part < 3 { b'.' } else { b':' };
        if !end && part < 4 && bytes[i] == sep {
            match decimal(bytes, start, i) {
                Some(n) if n < 256 => ip[part] = n as u8,
                _ => panic!("BRINE_SERVER is not a.b.c.d:port"),
            }
            part += 1;
            start = i + 1;
        } else if end {
            match decimal(bytes, start, i) {
                Some(port) if part == 4 && port > 0 && port < 65536 => return (ip, port as u16),
                _ => panic!("BRINE_SERVER is not a.b.c.d:port"),
            }
        }
        i += 1;
    }
    panic!("BRINE_SERVER is not a.b.c.d:port")
}
