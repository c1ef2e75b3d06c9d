//! Test inputs around the shapes the lab sends: CPython's bytes for its common pickles and
//! near misses, every truncation and many one-byte changes of each (`corpus`). The corpus of
//! `de`'s from_slice-vs-machine test.

extern crate std;
use std::vec::Vec;

include!("../../../tests/common/fixtures.rs");

/// Seeds: CPython's bytes for the lab's common shapes, and near misses.
const SEEDS: &[&[u8]] = &[
    CLIENT_ID,
    CLIENT_ID_STR,
    CLIENT_ID_V2,
    ACK,
    LIST,
    IDENTITY,
    EVIL,
    // pickle.dumps({'a': None, 'b': 300, 'c': b'\x00\xff', 'd': True, 'e': 1.5, 'f': -2**40}, 4)
    b"\x80\x04\x95F\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94N\x8c\x01b\x94M,\x01\x8c\x01c\x94C\x02\x00\xff\x94\x8c\x01d\x94\x88\x8c\x01e\x94G?\xf8\x00\x00\x00\x00\x00\x00\x8c\x01f\x94\x8a\x06\x00\x00\x00\x00\x00\xff\x94u.",
    // pickle.dumps((1, 'x', b'y'), 4), pickle.dumps((1, 2, 3, 4), 4), pickle.dumps((), 2)
    b"\x80\x04\x95\x0f\x00\x00\x00\x00\x00\x00\x00K\x01\x8c\x01x\x94C\x01y\x94\x87\x94.",
    b"\x80\x04\x95\x0d\x00\x00\x00\x00\x00\x00\x00(K\x01K\x02K\x03K\x04t\x94.",
    b"\x80\x02).",
    // pickle.dumps([1, 'a'], 2), pickle.dumps({'a': 1, 'b': 2}, 1)
    b"\x80\x02]q\x00(K\x01X\x01\x00\x00\x00aq\x01e.",
    b"}q\x00(X\x01\x00\x00\x00aq\x01K\x01X\x01\x00\x00\x00bq\x02K\x02u.",
    // A repeated key (the machine decides), a nested list, a memo read.
    b"\x80\x04}\x94(\x8c\x01a\x94K\x01\x8c\x01a\x94K\x02u.",
    b"\x80\x04]\x94(]\x94K\x01ae.",
    b"\x80\x04\x8c\x01a\x94h\x00\x86.",
    // pickletools.optimize(pickle.dumps('Server got the data')): no MEMOIZE before STOP;
    // a BINUNICODE str, and a non-ASCII one, as the ack.
    b"\x80\x04\x95\x16\x00\x00\x00\x00\x00\x00\x00\x8c\x13Server got the data.",
    b"\x80\x04\x95\x08\x00\x00\x00\x00\x00\x00\x00X\x02\x00\x00\x00hi\x94.",
    b"\x80\x05\x95\x07\x00\x00\x00\x00\x00\x00\x00\x8c\x03\xc3\xa9!\x94.",
    // A FRAME that claims more than the pickle holds.
    b"\x80\x04\x95\x40\x00\x00\x00\x00\x00\x00\x00K\x01.",
];

/// Every truncation and many one-byte changes of each seed.
pub(crate) fn corpus() -> Vec<Vec<u8>> {
    let bytes =
        b"\x00\x01\x02\x05\x7f\x80\xff.()]}tsuaeKMJNq\x94h\x8c\x95\x85\x86\x87\x88\x8aGXCB\xc3\xe9";
    let mut out = Vec::from([big_message().to_vec()]);
    for seed in SEEDS {
        for cut in 0..=seed.len() {
            out.push(seed[..cut].to_vec());
        }
        for i in 0..seed.len() {
            for &b in bytes {
                let mut p = seed.to_vec();
                p[i] = b;
                out.push(p);
            }
        }
    }
    // Under Miri (about 10,000 times slower) every 40th input: still every seed, cut and
    // mutated, in a few minutes instead of hours.
    if cfg!(miri) {
        out = out.into_iter().step_by(40).collect();
    }
    out
}

/// Every input of the corpus that begins as the lab's ack does (PROTO 4 or 5, FRAME, a str
/// opcode: the shape the machine's one-str STOP takes, `entry.rs`) decodes as CPython's
/// `pickle.Unpickler` reads it: the same str and length, or no str where CPython raises or
/// reads something else (its length: CPython's file position after `load`, the end of the
/// last FRAME if that is further).
#[cfg(not(miri))]
#[test]
fn one_str_shapes_decode_as_cpython_reads_them() {
    use crate::pickle::oracle::{hex, python3_with_input};
    use crate::pickle::{Decoder, Value};
    use std::string::String;

    let shaped: Vec<Vec<u8>> = corpus()
        .into_iter()
        .filter(|p| matches!(p.get(..12), Some([0x80, 4 | 5, 0x95, .., 0x8c | 0x58])))
        .collect();
    assert!(shaped.len() > 1000, "only {} inputs", shaped.len());
    let stdin: String = shaped.iter().map(|p| hex(p) + "\n").collect();
    let script = "import io, pickle\n\
        for line in sys.stdin:\n    f = io.BytesIO(bytes.fromhex(line.strip()))\n    \
        try:\n        v = pickle.Unpickler(f).load()\n    except Exception:\n        v = None\n    \
        print(f'str {v.encode(\"utf-8\", \"surrogatepass\").hex()} {f.tell()}' if isinstance(v, str) else 'no str')\n";
    let cpython = python3_with_input(script, stdin.as_bytes());
    let mut strs = 0;
    for (input, want) in shaped.iter().zip(cpython.lines()) {
        let mut decoder: Decoder = Decoder::new();
        let got = match decoder.decode_prefix(input) {
            Ok((Value::Str(s), len)) => Some((hex(s.raw), len)),
            _ => None,
        };
        // CPython's file position is past the whole FRAME, which may reach past the STOP.
        let got = match got {
            Some((text, len)) => {
                strs += 1;
                std::format!("str {text} {}", len.max(decoder.frame_end()))
            }
            None => String::from("no str"),
        };
        assert_eq!(got, want, "{input:x?}");
    }
    assert_eq!(cpython.lines().count(), shaped.len());
    assert!(strs > 100, "only {strs} strs");
}
