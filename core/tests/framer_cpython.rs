//! CPython is the oracle: python3 writes a stream of a few hundred concatenated pickles of
//! varied objects over protocols 0–5 and says how long each one is; the framer must find
//! exactly those boundaries however the stream is cut into chunks.
//!
//! python3 is required: if it is missing this test fails (it does not skip).
// Every test here runs python3, which Miri cannot spawn: skipped under `cargo miri test`.
#![cfg(not(miri))]

use std::process::Command;
use std::sync::OnceLock;

use brine_core::pickle::{Framer, Progress};
use proptest::prelude::*;

/// Prints `len len len ...\n` then the concatenated pickles.
const SCRIPT: &str = r#"
import collections, copyreg, datetime, decimal, fractions, io, os, pickle, pickletools, random, sys

class RunsCode:
    def __reduce__(self):
        return (os.system, ('echo pwned',))

class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

class KwNew:                                         # NEWOBJ_EX in protocol 4+
    def __new__(cls, a=0):
        return object.__new__(cls)
    def __getnewargs_ex__(self):
        return ((), {'a': 1})

class Ext1: pass
class Ext2: pass
class Ext4: pass
copyreg.add_extension(__name__, 'Ext1', 0xf0)        # EXT1 in protocols 2+
copyreg.add_extension(__name__, 'Ext2', 0x1234)      # EXT2
copyreg.add_extension(__name__, 'Ext4', 0x123456)    # EXT4

class PersistentPickler(pickle.Pickler):             # PERSID / BINPERSID
    def persistent_id(self, obj):
        return 'row-%d' % obj.x if isinstance(obj, Point) else None

def dumps_persistent(obj, protocol):
    f = io.BytesIO()
    PersistentPickler(f, protocol).dump(obj)
    return f.getvalue()

rng = random.Random(0xb41e)
ALPHABET = 'ab.\n\\\'"\x00\r\x1a \xe9\u20ac\U0001f600'

def text(n):
    return ''.join(rng.choice(ALPHABET) for _ in range(n))

def scalar():
    k = rng.randrange(13)
    if k == 0: return rng.randrange(-300, 70000)
    if k == 1: return rng.choice([-1, 1]) * rng.randrange(2 ** rng.randrange(1, 3000))
    if k == 2: return rng.choice([0.0, -0.0, 1.5, 1e308, float('inf'), float('nan'), rng.random()])
    if k == 3: return text(rng.randrange(0, 40))
    if k == 4: return rng.randbytes(rng.randrange(0, 300))
    if k == 5: return rng.choice([None, True, False])
    if k == 6: return text(rng.randrange(200, 70000))
    if k == 7: return rng.randbytes(rng.randrange(256, 100000))
    if k == 8: return bytearray(rng.randbytes(rng.randrange(0, 600)))
    if k == 9: return complex(rng.random(), -2)
    if k == 10: return rng.choice([datetime.datetime(2024, 6, 11, 12, 30), decimal.Decimal('3.14'),
                                   fractions.Fraction(1, 3), range(5), collections.OrderedDict(a=1)])
    if k == 11: return [text(2) + str(i) for i in range(300)]     # LONG_BINPUT, LONG_BINGET
    return rng.choice([RunsCode(), Point(1, text(3)), {'clientid': 54321}, 'Server got the data',
                       Ext1, Ext2, Ext4, Ext1(), KwNew()])

def value(depth=0):
    if depth >= 3 or rng.random() < 0.4:
        return scalar()
    n = rng.randrange(0, 6)
    k = rng.randrange(7)
    if k == 0: return [value(depth + 1) for _ in range(n)]
    if k == 1: return tuple(value(depth + 1) for _ in range(n))
    if k == 2: return {rng.choice([text(4), rng.randrange(99)]): value(depth + 1) for _ in range(n)}
    if k == 3: return {rng.randrange(-5, 5000) for _ in range(n)}
    if k == 4: return frozenset(text(3) for _ in range(n))
    if k == 5:
        shared = value(depth + 1)
        return [shared, (shared, shared)]
    cycle = [value(depth + 1)]
    cycle.append(cycle)
    return cycle

# Hand-written Python 2 style pickles (framed here, never loaded).
PYTHON2 = [
    b"S'abc'\np0\n.",
    b"(lp0\nS'a\\nb'\np1\naI1\naF2.5\naL10L\na.",
    b"}q\x00U\x08clientidq\x01J1\xd4\x00\x00s.",
    b"\x80\x02T\x2c\x01\x00\x00" + b"." * 300 + b"q\x00.",
    b"cos\nsystem\n(S'echo pwned'\ntR.",
    b"(i__main__\nPoint\n(dp0\nS'x'\nI1\nsb.",           # INST (old-style class instance)
    b"\x80\x02(c__main__\nPoint\nK\x01K\x02o.",          # OBJ
    b"(N2N0N1N.",                                         # MARK, DUP, POP, POP_MARK
]

pickles = []
for i in range(360):
    protocol = i % 6
    if i % 37 == 36:
        pickles.append(PYTHON2[(i // 37) % len(PYTHON2)])
    elif i % 29 == 28:
        pickles.append(dumps_persistent([Point(i, 'p'), 'x'], protocol))
    elif i % 31 == 30:
        pickles.append(pickletools.optimize(pickle.dumps(value(), protocol)))
    elif protocol == 5 and i % 7 == 0:
        pickles.append(pickle.dumps(pickle.PickleBuffer(rng.randbytes(50)), 5,
                                    buffer_callback=lambda b: False))
    else:
        pickles.append(pickle.dumps(value(), protocol))
out = sys.stdout.buffer
out.write(' '.join(str(len(p)) for p in pickles).encode() + b'\n')
for p in pickles:
    out.write(p)
out.flush()
"#;

struct Corpus {
    stream: Vec<u8>,
    /// Stream offsets just past each pickle's STOP.
    ends: Vec<usize>,
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let output = Command::new("python3")
            .arg("-c")
            .arg(SCRIPT)
            .output()
            .expect(
                "python3 must be installed to run the CPython oracle test (it is not optional)",
            );
        assert!(
            output.status.success(),
            "python3 failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let newline = output
            .stdout
            .iter()
            .position(|&b| b == b'\n')
            .expect("header line");
        let header = std::str::from_utf8(&output.stdout[..newline]).expect("ASCII header");
        let stream = output.stdout[newline + 1..].to_vec();
        let mut ends = Vec::new();
        let mut end = 0;
        for len in header.split(' ') {
            end += len.parse::<usize>().expect("a length");
            ends.push(end);
        }
        assert_eq!(end, stream.len(), "lengths add up to the stream");
        Corpus { stream, ends }
    })
}

/// Feeds `stream` in chunks of the given sizes (cycled) and returns the stream offsets just
/// past each STOP, checking the framer's accessors along the way.
fn boundaries(stream: &[u8], sizes: &[usize]) -> Vec<usize> {
    let mut framer = Framer::new();
    let mut ends = Vec::new();
    let mut sizes = sizes.iter().copied().cycle();
    let mut pos = 0;
    while pos < stream.len() {
        let n = sizes.next().unwrap_or(1).max(1);
        let mut chunk = &stream[pos..stream.len().min(pos + n)];
        pos += chunk.len();
        loop {
            match framer.advance(chunk) {
                Ok(Progress::Incomplete) => {
                    assert!(framer.in_pickle());
                    break;
                }
                Ok(Progress::Complete { len }) => {
                    assert_eq!(chunk[len - 1], b'.');
                    assert!(!framer.in_pickle());
                    let end = framer.stream_offset();
                    let start = ends.last().copied().unwrap_or(0);
                    assert_eq!(framer.pickle_len(), end - start);
                    ends.push(end);
                    chunk = &chunk[len..];
                    if chunk.is_empty() {
                        break;
                    }
                }
                Err(e) => panic!("framer error on a CPython stream: {e}"),
            }
        }
    }
    assert_eq!(framer.stream_offset(), stream.len());
    ends
}

#[test]
fn cpython_stream_in_one_chunk() {
    let c = corpus();
    assert!(c.ends.len() >= 300, "a few hundred pickles");
    assert_eq!(boundaries(&c.stream, &[c.stream.len()]), c.ends);
}

#[test]
fn cpython_stream_in_one_byte_chunks() {
    let c = corpus();
    assert_eq!(boundaries(&c.stream, &[1]), c.ends);
}

#[test]
fn cpython_stream_in_read_sized_chunks() {
    let c = corpus();
    for size in [2, 3, 13, 512, 4096, 65536] {
        assert_eq!(boundaries(&c.stream, &[size]), c.ends, "chunk size {size}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn cpython_stream_in_random_chunks(sizes in prop::collection::vec(1usize..5000, 1..64)) {
        let c = corpus();
        prop_assert_eq!(boundaries(&c.stream, &sizes), c.ends.clone());
    }
}
