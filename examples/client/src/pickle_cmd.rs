//! `brine pickle encode` and `brine pickle decode`.

use std::io::{self, BufRead, BufWriter, Read, Write};

use std::fmt::Write as _;

use brine_core::pickle::{
    to_vec_with_memo, Budget, HeapDecoder, Pickles, Protocol, StreamError, Value,
};

use crate::client::{FmtIo, MESSAGE_OUTPUT_LIMIT};
use crate::{exit, Fail};

/// Distinct strings one encoded value may hold (20 bytes of stack each while encoding).
const ENCODE_MEMO: usize = 1 << 14;

/// Output bytes `decode` allows per input byte of a pickle (beyond [`MESSAGE_OUTPUT_LIMIT`]):
/// more than any pickle's repr or JSON takes unless it refers to shared values many times
/// (CPython's densest output per byte: `set()` for the 1-byte EMPTY_SET, 7 bytes with its
/// `, `). Past it, a line is cut as a message's is.
const OUTPUT_PER_INPUT_BYTE: usize = 16;

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
            // A standard type's form with a value it does not take says so itself.
            let what = if e.starts_with("{\"$") {
                ""
            } else {
                "not a JSON value: "
            };
            Fail::new(exit::PROTOCOL, format!("line {line_no}: {what}{e}"))
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
pub fn decode(as_json: bool, stubs: bool) -> Result<(), Fail> {
    let mut stdin = io::stdin().lock();
    let mut stdout = BufWriter::new(io::stdout().lock());
    let result = decode_stream(&mut stdin, &mut stdout, as_json, stubs);
    // Print every complete pickle before reporting a fault.
    let flushed = stdout.flush().map_err(|e| Fail::io("write to stdout", e));
    result.and(flushed)
}

/// The stream decoder: [`Pickles`] finds each pickle's end in a growing buffer (a pickle may
/// be any size), a [`HeapDecoder`] (sized to each pickle) decodes the complete pickle, and
/// its line is cut past [`OUTPUT_PER_INPUT_BYTE`] bytes per pickle byte.
fn decode_stream(
    input: &mut impl Read,
    out: &mut impl Write,
    as_json: bool,
    stubs: bool,
) -> Result<(), Fail> {
    let mut decoder = HeapDecoder::new();
    decoder.allow_stubs(stubs);
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
            crate::client::note_stubs(&value);
            let limit = message
                .bytes
                .len()
                .saturating_mul(OUTPUT_PER_INPUT_BYTE)
                .max(MESSAGE_OUTPUT_LIMIT);
            write_line(&mut *out, &value, as_json, limit)
                .map_err(|e| Fail::io("write to stdout", e))?;
        }
    }
}

/// One pickle's line: its repr streamed into `out` (nothing built whole), cut after `limit`
/// bytes with a marker; or its JSON, replaced by `{"cut": "<reason>"}` when longer. Bounds
/// the output of expansion bombs.
fn write_line(
    out: &mut dyn Write,
    value: &Value<'_>,
    as_json: bool,
    limit: usize,
) -> io::Result<()> {
    let mut w = FmtIo::new(out);
    let written = if as_json {
        match brine_json::to_json_line(value, limit) {
            Ok(line) => w.write_str(&line),
            Err(reason) => w
                .write_str("{\"cut\":")
                .and_then(|()| brine_json::write_str(&mut w, &reason))
                .and_then(|()| w.write_char('}')),
        }
    } else {
        let mut bounded = Budget::new(&mut w, limit);
        match bounded.write_display(value) {
            Ok(false) => {
                let reason = brine_json::too_long("repr", limit);
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

    /// Runs the CPython oracle: pickles on its stdout, the text it expects on its stderr.
    fn cpython(script: &str) -> (Vec<u8>, String) {
        let out = std::process::Command::new("python3")
            .args(["-c", script])
            .output()
            .expect("python3 (the CPython oracle) must be installed");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (out.stdout, String::from_utf8(out.stderr).unwrap())
    }

    fn decode_bytes(input: &[u8], as_json: bool) -> (String, Result<(), Fail>) {
        let input = input.to_vec();
        crate::with_big_stack(move || {
            let mut out = Vec::new();
            let result = decode_stream(&mut &input[..], &mut out, as_json, false);
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

    /// Issue 12 point 4: inputs of any length. A list of 200,000 ints (past 65,535 values,
    /// past any one read, and a repr longer than a network message's 1 MiB output limit) and a
    /// dict of 70,000 keys print as CPython's repr and JSON, whatever the protocol.
    #[test]
    fn values_past_65535_as_cpython() {
        let script = "import json, pickle, sys
values = [list(range(-100000, 100000)), {str(i): [i] for i in range(70000)}]
out = [(pickle.dumps(v, p), v) for p in (0, 2, 5) for v in values]
sys.stdout.buffer.write(b''.join(p for p, _ in out))
sys.stderr.write(''.join(repr(v) + chr(10) for _, v in out))
sys.stderr.write(''.join(json.dumps(v, separators=(',', ':')) + chr(10) for _, v in out))";
        let (pickles, want) = cpython(script);
        let (printed, result) = decode_bytes(&pickles, false);
        assert!(result.is_ok(), "{}", result.unwrap_err().message);
        let (json, result) = decode_bytes(&pickles, true);
        assert!(result.is_ok(), "{}", result.unwrap_err().message);
        assert!(printed.len() > 2 * MESSAGE_OUTPUT_LIMIT);
        assert!(printed + &json == want, "the output differs from CPython's");
    }

    /// What a pickle may print grows with its length, but a shared-reference bomb (a 1 KB
    /// string referred to 2**19 times, expanding to 512 MiB) is still cut.
    #[test]
    fn output_is_bounded_by_the_input() {
        let mut bomb = b"\x80\x04B\xe8\x03\x00\x00".to_vec();
        bomb.extend([b'a'; 1000]);
        bomb.push(0x94);
        for i in 0..19u8 {
            bomb.extend([40, 104, i, 104, i, 108, 148]);
        }
        bomb.push(b'.');
        let (printed, result) = decode_bytes(&bomb, false);
        // The decoder refuses it by its expanded size before anything is printed.
        let fail = result.unwrap_err();
        assert!(
            fail.message.contains("after expanding shared references"),
            "{}",
            fail.message
        );
        assert_eq!(printed, "");
        // 300 references to a 10 KB string: 3 MB of repr from a 11 KB pickle, cut at 1 MiB.
        let mut wide = b"\x80\x04]\x94B\x10\x27\x00\x00".to_vec();
        wide.extend([b'b'; 10000]);
        wide.extend(b"\x940(");
        wide.extend([b'h', 1].repeat(300));
        wide.extend(b"e.");
        let (printed, result) = decode_bytes(&wide, false);
        assert!(result.is_ok(), "{}", result.unwrap_err().message);
        assert!(
            printed.len() < MESSAGE_OUTPUT_LIMIT + 200,
            "{}",
            printed.len()
        );
        assert!(printed.trim_end().ends_with(']') && printed.contains(brine_json::CUT_MARK));
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
        let (pickles, want) = cpython(script);
        let (printed, result) = decode_bytes(&pickles, false);
        assert!(result.is_ok(), "{}", result.unwrap_err().message);
        assert_eq!(printed, want);
        assert!(printed.contains(r"\ud800") && printed.contains(r"\udfff"));
        let (json, result) = decode_bytes(&pickles, true);
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
