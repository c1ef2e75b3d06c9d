//! `brine pickle encode` and `brine pickle decode`.

use std::io::{self, BufRead, BufWriter, Read, Write};

use std::fmt::Write as _;

use brine_core::pickle::{
    to_vec_with_memo, Budget, Decoder, Pickles, Protocol, StreamError, Value,
};

use crate::client::{FmtIo, MESSAGE_OUTPUT_LIMIT};
use crate::{exit, Fail};

/// Distinct strings one encoded value may hold (20 bytes of stack each while encoding).
const ENCODE_MEMO: usize = 1 << 14;

/// The decoder for `decode`: far larger than a session's (pickles from a file can be big).
/// Node and edge ids are 16-bit, so 65535 values and items are the ceiling.
type BigDecoder = Decoder<65535, 65535, 8192, 32768>;

/// JSON values, one per line, on stdin → one pickle each on stdout: what
/// `pickle.dumps(json.loads(line), protocol)` writes (see [`brine_json::parse`]).
pub fn encode(protocol: u8) -> Result<(), Fail> {
    let protocol = Protocol::from_u8(protocol)
        .ok_or_else(|| Fail::new(exit::USAGE, "the protocol must be 0 to 5"))?;
    let stdin = io::stdin().lock();
    let mut stdout = BufWriter::new(io::stdout().lock());
    for (index, line) in stdin.lines().enumerate() {
        let line_no = index + 1;
        let line = line.map_err(|e| Fail::io("read stdin", e))?;
        if line.trim().is_empty() {
            continue;
        }
        let value = brine_json::parse(&line).map_err(|e| {
            Fail::new(
                exit::PROTOCOL,
                format!("line {line_no}: not a JSON value: {e}"),
            )
        })?;
        let bytes = to_vec_with_memo::<ENCODE_MEMO, _>(&value, protocol).map_err(|e| {
            Fail::new(
                exit::PROTOCOL,
                format!("line {line_no}: cannot pickle the value: {e}"),
            )
        })?;
        stdout
            .write_all(&bytes)
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

/// The stream decoder: [`Pickles`] finds each pickle's end in a growing buffer (a pickle may
/// be any size), the decoder decodes the complete pickle.
fn decode_stream(input: &mut impl Read, out: &mut impl Write, as_json: bool) -> Result<(), Fail> {
    let mut decoder: Box<BigDecoder> = Box::new(Decoder::new());
    let mut pickles = Pickles::new();
    let mut count = 0usize;
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = match input.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Fail::io("read stdin", e)),
        };
        if n == 0 {
            return match pickles.unfinished() {
                Some((offset, len)) => Err(Fail::new(
                    exit::PROTOCOL,
                    format!(
                        "the input ended inside a pickle: {len} bytes from offset {offset} and no STOP opcode"
                    ),
                )),
                None => Ok(()),
            };
        }
        pickles.push(&chunk[..n]);
        loop {
            let message = match pickles.next_pickle() {
                Ok(Some(message)) => message,
                Ok(None) => break,
                Err(e) => {
                    let start = pickles.unfinished().map_or(0, |(offset, _)| offset);
                    let e = match e {
                        StreamError::Framing(e) => e.to_string(),
                        other => other.to_string(),
                    };
                    return Err(Fail::new(
                        exit::PROTOCOL,
                        format!(
                            "not a pickle stream: {e} (pickle {} starts at input offset {start}; offsets from the start of the input)",
                            count + 1,
                        ),
                    ));
                }
            };
            count += 1;
            let value = decoder.decode(message.bytes).map_err(|e| {
                Fail::new(
                    exit::PROTOCOL,
                    format!(
                        "pickle {count} (at input offset {}): {e} (offsets within the pickle)",
                        message.offset
                    ),
                )
            })?;
            write_line(&mut *out, &value, as_json).map_err(|e| Fail::io("write to stdout", e))?;
        }
    }
}

/// One pickle's line: its repr streamed into `out` (nothing built whole), cut after
/// [`MESSAGE_OUTPUT_LIMIT`] bytes with a marker; or its JSON, replaced by `{"cut": "<reason>"}`
/// when longer. Bounds the output of expansion bombs.
fn write_line(out: &mut dyn Write, value: &Value<'_>, as_json: bool) -> io::Result<()> {
    let mut w = FmtIo::new(out);
    let written = if as_json {
        match brine_json::to_json_line(value, MESSAGE_OUTPUT_LIMIT) {
            Ok(line) => w.write_str(&line),
            Err(reason) => w
                .write_str("{\"cut\":")
                .and_then(|()| brine_json::write_str(&mut w, &reason))
                .and_then(|()| w.write_char('}')),
        }
    } else {
        let mut bounded = Budget::new(&mut w, MESSAGE_OUTPUT_LIMIT);
        match bounded.write_display(value) {
            Ok(false) => {
                let reason = brine_json::too_long("repr", MESSAGE_OUTPUT_LIMIT);
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

    /// Issue 12: a list of 40,000 ints (past the session decoder's 1,024 values, and past
    /// any one read) prints as CPython's repr, whatever the protocol.
    #[test]
    fn a_list_of_40000_ints() {
        for protocol in [0, 2, 5] {
            let script = format!(
                "import pickle, sys\nv = list(range(-20000, 20000))\nsys.stdout.buffer.write(pickle.dumps(v, {protocol}) * 2)\nsys.stderr.write(repr(v))"
            );
            let out = std::process::Command::new("python3")
                .args(["-c", &script])
                .output()
                .expect("python3 (the CPython oracle) must be installed");
            assert!(out.status.success());
            let repr = String::from_utf8(out.stderr).unwrap();
            let (printed, result) = decode_bytes(&out.stdout, false);
            assert!(
                result.is_ok(),
                "protocol {protocol}: {}",
                result.unwrap_err().message
            );
            assert_eq!(printed, format!("{repr}\n{repr}\n"), "protocol {protocol}");
        }
    }

    /// Issue 12 point 4: strs with lone surrogates, as CPython pickles them in every protocol
    /// (escaped in protocol 0, 'surrogatepass' UTF-8 after), decode to CPython's repr, and
    /// to JSON that `json.loads` reads as it reads `json.dumps`'s.
    #[test]
    fn lone_surrogates_in_every_protocol_as_cpython() {
        let script = r#"
import pickle, random, sys
r = random.Random(3)
pool = ['a', "'", '"', '\\', 'é', '😀', '\x1b', '\ud800', '\udbff', '\udc00', '\udfff']
values = []
for _ in range(60):
    s = ''.join(r.choice(pool) for _ in range(r.randrange(1, 7)))
    values += [s, [s, {s: s}], (s, 1)]
out = b''.join(pickle.dumps(v, p) for v in values for p in range(6))
sys.stdout.buffer.write(out)
sys.stderr.write(''.join(repr(v) + '\n' for v in values for p in range(6)))
"#;
        let out = std::process::Command::new("python3")
            .args(["-c", script])
            .output()
            .expect("python3 (the CPython oracle) must be installed");
        assert!(out.status.success());
        let want = String::from_utf8(out.stderr).unwrap();
        let (printed, result) = decode_bytes(&out.stdout, false);
        assert!(result.is_ok(), "{}", result.unwrap_err().message);
        assert_eq!(printed, want);
        assert!(printed.contains(r"\ud800") && printed.contains(r"\udfff"));
        let (json, result) = decode_bytes(&out.stdout, true);
        assert!(result.is_ok());
        let check = r#"
import json, pickle, sys
values = []
data = sys.stdin.buffer.read()
lines = data.decode().splitlines()
import random
r = random.Random(3)
pool = ['a', "'", '"', '\\', 'é', '😀', '\x1b', '\ud800', '\udbff', '\udc00', '\udfff']
for _ in range(60):
    s = ''.join(r.choice(pool) for _ in range(r.randrange(1, 7)))
    values += [s, [s, {s: s}], (s, 1)]
want = [json.loads(json.dumps(v)) for v in values for p in range(6)]
got = [json.loads(l) for l in lines]
assert got == want, next((g, w) for g, w in zip(got, want) if g != w)
"#;
        let mut child = std::process::Command::new("python3")
            .args(["-c", check])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(json.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    }
}
