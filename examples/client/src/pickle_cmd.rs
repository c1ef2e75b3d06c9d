//! `brine pickle encode` and `brine pickle decode`.

use std::io::{self, BufRead, BufWriter, Read, Write};

use std::fmt::Write as _;

use brine_core::pickle::{
    self, to_slice_with_memo, Budget, Decoder, Framer, Progress, Protocol, Value,
};

use crate::client::FmtIo;
use crate::{exit, Fail};
use brine_json::AsPython;

/// Distinct strings one encoded value may hold (20 bytes of stack each while encoding).
const ENCODE_MEMO: usize = 1 << 14;
/// Largest pickle `encode` writes.
const MAX_PICKLE: usize = 1 << 30;

/// The decoder for `decode`: far larger than a session's (pickles from a file can be big).
/// Node and edge ids are 16-bit, so 65535 is the ceiling.
type BigDecoder = Decoder<32768, 65535, 8192, 32768>;

/// JSON values, one per line, on stdin → one pickle each on stdout.
pub fn encode(protocol: u8) -> Result<(), Fail> {
    let protocol = Protocol::from_u8(protocol)
        .ok_or_else(|| Fail::new(exit::USAGE, "the protocol must be 0 to 5"))?;
    let stdin = io::stdin().lock();
    let mut stdout = BufWriter::new(io::stdout().lock());
    let mut buf = vec![0u8; 1 << 16];
    for (index, line) in stdin.lines().enumerate() {
        let line_no = index + 1;
        let line = line.map_err(|e| Fail::io("read stdin", e))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(&line).map_err(|e| {
            Fail::new(
                exit::PROTOCOL,
                format!("line {line_no}: not a JSON value: {e}"),
            )
        })?;
        brine_json::check(&value)
            .map_err(|e| Fail::new(exit::PROTOCOL, format!("line {line_no}: {e}")))?;
        let bytes = loop {
            // The pickle is the start of `buf`.
            let written =
                to_slice_with_memo::<ENCODE_MEMO, _>(&AsPython(&value), &mut buf, protocol)
                    .map(|bytes| bytes.len());
            match written {
                Ok(len) => break len,
                Err(pickle::Error::BufferFull { .. }) if buf.len() < MAX_PICKLE => {
                    buf.resize(buf.len() * 2, 0);
                }
                Err(e) => {
                    return Err(Fail::new(
                        exit::PROTOCOL,
                        format!("line {line_no}: cannot pickle the value: {e}"),
                    ))
                }
            }
        };
        stdout
            .write_all(&buf[..bytes])
            .map_err(|e| Fail::io("write to stdout", e))?;
    }
    stdout.flush().map_err(|e| Fail::io("write to stdout", e))
}

/// Concatenated pickles on stdin → one line each on stdout (repr or JSON). Stops at the first
/// bad pickle, after printing the good ones before it.
pub fn decode(as_json: bool) -> Result<(), Fail> {
    let mut stdin = io::stdin().lock();
    let mut stdout = BufWriter::new(io::stdout().lock());
    let result = decode_stream(&mut stdin, &mut stdout, as_json);
    // Print every complete pickle before reporting a fault.
    let flushed = stdout.flush().map_err(|e| Fail::io("write to stdout", e));
    result.and(flushed)
}

/// The stream decoder: the framer finds each pickle's end in a growing buffer (a pickle may
/// be any size), the decoder decodes the complete pickle.
fn decode_stream(input: &mut impl Read, out: &mut impl Write, as_json: bool) -> Result<(), Fail> {
    let mut decoder: Box<BigDecoder> = Box::new(Decoder::new());
    let mut framer = Framer::new();
    let mut buf: Vec<u8> = Vec::new();
    // buf[start..] is the current pickle so far; buf[scanned..] has not been framed yet.
    // `base` is buf[0]'s offset in the input.
    let (mut start, mut scanned, mut base) = (0usize, 0usize, 0usize);
    let mut count = 0usize;
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = match input.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Fail::io("read stdin", e)),
        };
        if n == 0 {
            if start < buf.len() {
                return Err(Fail::new(
                    exit::PROTOCOL,
                    format!(
                        "the input ended inside a pickle: {} bytes from offset {} and no STOP opcode",
                        buf.len() - start,
                        base + start
                    ),
                ));
            }
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        while scanned < buf.len() {
            match framer.advance(&buf[scanned..]) {
                Ok(Progress::Incomplete) => scanned = buf.len(),
                Ok(Progress::Complete { len }) => {
                    let end = scanned + len;
                    count += 1;
                    let pickle = &buf[start..end];
                    let value = decoder.decode(pickle).map_err(|e| {
                        Fail::new(
                            exit::PROTOCOL,
                            format!(
                                "pickle {count} (at input offset {}): {e} (offsets within the pickle)",
                                base + start
                            ),
                        )
                    })?;
                    write_line(&mut *out, &value, as_json)
                        .map_err(|e| Fail::io("write to stdout", e))?;
                    start = end;
                    scanned = end;
                }
                Err(e) => {
                    return Err(Fail::new(
                        exit::PROTOCOL,
                        format!(
                            "not a pickle stream: {e} (pickle {} starts at input offset {}; offsets from the start of the input)",
                            count + 1,
                            base + start
                        ),
                    ))
                }
            }
        }
        // Drop the bytes of printed pickles.
        if start > 0 {
            buf.drain(..start);
            base += start;
            scanned -= start;
            start = 0;
        }
    }
}

/// The most one pickle's line may hold, in bytes: a longer repr is cut there with a marker, a
/// longer JSON is replaced by `{"cut": "<reason>"}`. Bounds the output of expansion bombs.
pub const DECODE_OUTPUT_LIMIT: usize = 16 << 20;

/// One pickle's line: its repr streamed into `out` (nothing built whole), or its JSON.
fn write_line(out: &mut dyn Write, value: &Value<'_>, as_json: bool) -> io::Result<()> {
    let mut w = FmtIo::new(out);
    let written = if as_json {
        match brine_json::to_json_line(value, DECODE_OUTPUT_LIMIT) {
            Ok(line) => w.write_str(&line),
            Err(reason) => w
                .write_str("{\"cut\":")
                .and_then(|()| brine_json::write_str(&mut w, &reason))
                .and_then(|()| w.write_char('}')),
        }
    } else {
        let mut bounded = Budget::new(&mut w, DECODE_OUTPUT_LIMIT);
        match bounded.write_display(value) {
            Ok(false) => {
                let reason = brine_json::too_long("repr", DECODE_OUTPUT_LIMIT);
                write!(w, "{}{reason}]", brine_json::CUT_MARK)
            }
            other => other.map(|_| ()),
        }
    };
    let written = written.and_then(|()| w.write_char('\n'));
    w.finish(written).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_bytes(input: &[u8], as_json: bool) -> (String, Result<(), Fail>) {
        let input = input.to_vec();
        crate::with_big_stack(move || {
            let mut out = Vec::new();
            let result = decode_stream(&mut &input[..], &mut out, as_json);
            (String::from_utf8(out).unwrap(), result)
        })
    }

    #[test]
    fn decodes_concatenated_pickles() {
        let input = b"\x80\x02X\x01\x00\x00\x00aq\x00.\x80\x02K\x01.";
        let (out, result) = decode_bytes(input, false);
        assert!(result.is_ok());
        assert_eq!(out, "'a'\n1\n");
    }

    #[test]
    fn prints_good_pickles_before_the_fault() {
        let mut input = b"\x80\x02K\x01.".to_vec();
        input.extend_from_slice(b"cos\nsystem\n(S'echo hi'\ntR.");
        let (out, result) = decode_bytes(&input, false);
        assert_eq!(out, "1\n");
        let fail = result.unwrap_err();
        assert_eq!(fail.code, exit::PROTOCOL);
        assert!(
            fail.message.contains("pickle 2 (at input offset 5)"),
            "{}",
            fail.message
        );
        assert!(fail.message.contains("os.system"), "{}", fail.message);
    }

    #[test]
    fn truncated_and_garbage() {
        let (out, result) = decode_bytes(b"\x80\x02K\x01.\x80\x02K", false);
        assert_eq!(out, "1\n");
        assert!(result
            .unwrap_err()
            .message
            .contains("ended inside a pickle: 3 bytes from offset 5"));
        let (_, result) = decode_bytes(b"\x80\x02K\x01.\xff", false);
        let message = result.unwrap_err().message;
        assert!(message.starts_with("not a pickle stream"), "{message}");
    }
}
