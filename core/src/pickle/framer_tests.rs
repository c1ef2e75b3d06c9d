//! Tests of [`framer`](super): moved out of `framer.rs` to keep that file short.

extern crate std;

use std::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::pickle::Opcode;

// Fixtures written by CPython 3.11's `pickle.dumps` unless noted. `RunsCode.__reduce__`
// returns `(os.system, ('echo pwned',))`, and
// NESTED = {'a': [1, -2, 2.5, (None, True, False)], 'b': {'c': {1, 2}, 'd': frozenset([3])},
//           'e': b'\x00.\n', 'f': 'caf\xe9.\n\U0001f600'}.
// The Python 2 fixtures were checked with `pickle.loads(data, encoding='latin1')`.
/// `pickle.dumps({'clientid': 54321}, 0)`
const CLIENTID_P0: &[u8] = b"(dp0\nVclientid\np1\nI54321\ns.";
/// `pickle.dumps({'clientid': 54321}, 1)`
const CLIENTID_P1: &[u8] = b"}q\x00X\x08\x00\x00\x00clientidq\x01M1\xd4s.";
/// `pickle.dumps({'clientid': 54321}, 2)`
const CLIENTID_P2: &[u8] = b"\x80\x02}q\x00X\x08\x00\x00\x00clientidq\x01M1\xd4s.";
/// `pickle.dumps({'clientid': 54321}, 3)`
const CLIENTID_P3: &[u8] = b"\x80\x03}q\x00X\x08\x00\x00\x00clientidq\x01M1\xd4s.";
/// `pickle.dumps({'clientid': 54321}, 4)`
const CLIENTID_P4: &[u8] =
    b"\x80\x04\x95\x12\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94M1\xd4s.";
/// `pickle.dumps({'clientid': 54321}, 5)`
const CLIENTID_P5: &[u8] =
    b"\x80\x05\x95\x12\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94M1\xd4s.";
/// `pickle.dumps('Server got the data', 0)`
const ACK_P0: &[u8] = b"VServer got the data\np0\n.";
/// `pickle.dumps('Server got the data', 1)`
const ACK_P1: &[u8] = b"X\x13\x00\x00\x00Server got the dataq\x00.";
/// `pickle.dumps('Server got the data', 2)`
const ACK_P2: &[u8] = b"\x80\x02X\x13\x00\x00\x00Server got the dataq\x00.";
/// `pickle.dumps('Server got the data', 3)`
const ACK_P3: &[u8] = b"\x80\x03X\x13\x00\x00\x00Server got the dataq\x00.";
/// `pickle.dumps('Server got the data', 4)`
const ACK_P4: &[u8] =
    b"\x80\x04\x95\x17\x00\x00\x00\x00\x00\x00\x00\x8c\x13Server got the data\x94.";
/// `pickle.dumps('Server got the data', 5)`
const ACK_P5: &[u8] =
    b"\x80\x05\x95\x17\x00\x00\x00\x00\x00\x00\x00\x8c\x13Server got the data\x94.";
/// `pickle.dumps(NESTED, 0)`
const NESTED_P0: &[u8] =
    b"(dp0\nVa\np1\n(lp2\nI1\naI-2\naF2.5\na(NI01\nI00\ntp3\nasVb\np4\n(dp5\nVc\np6\nc__bu\
        iltin__\nset\np7\n((lp8\nI1\naI2\natp9\nRp10\nsVd\np11\nc__builtin__\nfrozenset\np12\
        \n((lp13\nI3\natp14\nRp15\nssVe\np16\nc_codecs\nencode\np17\n(V\\u0000.\\u000a\np18\n\
        Vlatin1\np19\ntp20\nRp21\nsVf\np22\nVcaf\xe9.\\u000a\\U0001f600\np23\ns.";
/// `pickle.dumps(NESTED, 1)`
const NESTED_P1: &[u8] =
    b"}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01J\xfe\xff\xff\xffG@\x04\x00\x00\x00\x00\x00\
        \x00(NI01\nI00\ntq\x03eX\x01\x00\x00\x00bq\x04}q\x05(X\x01\x00\x00\x00cq\x06c__built\
        in__\nset\nq\x07(]q\x08(K\x01K\x02etq\x09Rq\nX\x01\x00\x00\x00dq\x0bc__builtin__\nfr\
        ozenset\nq\x0c(]q\x0dK\x03atq\x0eRq\x0fuX\x01\x00\x00\x00eq\x10c_codecs\nencode\nq\x11\
        (X\x03\x00\x00\x00\x00.\nq\x12X\x06\x00\x00\x00latin1q\x13tq\x14Rq\x15X\x01\x00\x00\x00\
        fq\x16X\x0b\x00\x00\x00caf\xc3\xa9.\n\xf0\x9f\x98\x80q\x17u.";
/// `pickle.dumps(NESTED, 2)`
const NESTED_P2: &[u8] =
    b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01J\xfe\xff\xff\xffG@\x04\x00\x00\x00\
        \x00\x00\x00N\x88\x89\x87q\x03eX\x01\x00\x00\x00bq\x04}q\x05(X\x01\x00\x00\x00cq\x06\
        c__builtin__\nset\nq\x07]q\x08(K\x01K\x02e\x85q\x09Rq\nX\x01\x00\x00\x00dq\x0bc__bui\
        ltin__\nfrozenset\nq\x0c]q\x0dK\x03a\x85q\x0eRq\x0fuX\x01\x00\x00\x00eq\x10c_codecs\n\
        encode\nq\x11X\x03\x00\x00\x00\x00.\nq\x12X\x06\x00\x00\x00latin1q\x13\x86q\x14Rq\x15\
        X\x01\x00\x00\x00fq\x16X\x0b\x00\x00\x00caf\xc3\xa9.\n\xf0\x9f\x98\x80q\x17u.";
/// `pickle.dumps(NESTED, 3)`
const NESTED_P3: &[u8] =
    b"\x80\x03}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01J\xfe\xff\xff\xffG@\x04\x00\x00\x00\
        \x00\x00\x00N\x88\x89\x87q\x03eX\x01\x00\x00\x00bq\x04}q\x05(X\x01\x00\x00\x00cq\x06\
        cbuiltins\nset\nq\x07]q\x08(K\x01K\x02e\x85q\x09Rq\nX\x01\x00\x00\x00dq\x0bcbuiltins\
        \nfrozenset\nq\x0c]q\x0dK\x03a\x85q\x0eRq\x0fuX\x01\x00\x00\x00eq\x10C\x03\x00.\nq\x11\
        X\x01\x00\x00\x00fq\x12X\x0b\x00\x00\x00caf\xc3\xa9.\n\xf0\x9f\x98\x80q\x13u.";
/// `pickle.dumps(NESTED, 4)`
const NESTED_P4: &[u8] =
    b"\x80\x04\x95[\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94]\x94(K\x01J\xfe\xff\xff\
        \xffG@\x04\x00\x00\x00\x00\x00\x00N\x88\x89\x87\x94e\x8c\x01b\x94}\x94(\x8c\x01c\x94\
        \x8f\x94(K\x01K\x02\x90\x8c\x01d\x94(K\x03\x91\x94u\x8c\x01e\x94C\x03\x00.\n\x94\x8c\
        \x01f\x94\x8c\x0bcaf\xc3\xa9.\n\xf0\x9f\x98\x80\x94u.";
/// `pickle.dumps(NESTED, 5)`
const NESTED_P5: &[u8] =
    b"\x80\x05\x95[\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94]\x94(K\x01J\xfe\xff\xff\
        \xffG@\x04\x00\x00\x00\x00\x00\x00N\x88\x89\x87\x94e\x8c\x01b\x94}\x94(\x8c\x01c\x94\
        \x8f\x94(K\x01K\x02\x90\x8c\x01d\x94(K\x03\x91\x94u\x8c\x01e\x94C\x03\x00.\n\x94\x8c\
        \x01f\x94\x8c\x0bcaf\xc3\xa9.\n\xf0\x9f\x98\x80\x94u.";
/// `pickle.dumps([2**100, -2**200, 2**31, -1], 0)`
const BIG_INTS_P0: &[u8] =
    b"(lp0\nL1267650600228229401496703205376L\naL-1606938044258990275541962092341162602522\
        202993782792835301376L\naL2147483648L\naI-1\na.";
/// `pickle.dumps([2**100, -2**200, 2**31, -1], 2)`
const BIG_INTS_P2: &[u8] =
    b"\x80\x02]q\x00(\x8a\x0d\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\x8a\x1a\x00\
        \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
        \x00\x00\x00\xff\x8a\x05\x00\x00\x00\x80\x00J\xff\xff\xff\xffe.";
/// `pickle.dumps(2**(8*300), 2)`
const LONG4_P2: &[u8] =
    b"\x80\x02\x8b-\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
        \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
        \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
        \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
        \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
        \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
        \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
        \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
        \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
        \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
        \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
        \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
        \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
        \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
        \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01.";
/// `pickle.dumps('.\n' * 150, 3)`
const LONG_STR_P3: &[u8] =
    b"\x80\x03X,\x01\x00\x00.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n\
        .\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n\
        .\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n\
        .\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n\
        .\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n\
        .\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\n.\nq\x00.";
/// `pickle.dumps(b'.' * 300, 3)`
const LONG_BYTES_P3: &[u8] =
    b"\x80\x03B,\x01\x00\x00..............................................................\
        ....................................................................................\
        ....................................................................................\
        ......................................................................q\x00.";
/// `pickle.dumps(['item.%d' % i for i in range(8)], 4)`
const FRAMED_LIST_P4: &[u8] =
    b"\x80\x04\x95M\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x06item.0\x94\x8c\x06item.1\x94\x8c\
        \x06item.2\x94\x8c\x06item.3\x94\x8c\x06item.4\x94\x8c\x06item.5\x94\x8c\x06item.6\x94\
        \x8c\x06item.7\x94e.";
/// `pickle.dumps(bytearray(b'a.b'), 5)`
const BYTEARRAY_P5: &[u8] =
    b"\x80\x05\x95\x0e\x00\x00\x00\x00\x00\x00\x00\x96\x03\x00\x00\x00\x00\x00\x00\x00a.b\x94\
        .";
/// `pickle.dumps('a\nb.c', 0)`
const UNICODE_NEWLINE_P0: &[u8] = b"Va\\u000ab.c\np0\n.";
/// `pickle.dumps(RunsCode(), 0) # __reduce__ -> (os.system, ('echo pwned',))`
const OS_SYSTEM_P0: &[u8] = b"cposix\nsystem\np0\n(Vecho pwned\np1\ntp2\nRp3\n.";
/// `pickle.dumps(RunsCode(), 2) # __reduce__ -> (os.system, ('echo pwned',))`
const OS_SYSTEM_P2: &[u8] =
    b"\x80\x02cposix\nsystem\nq\x00X\n\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.";
/// `pickle.dumps(RunsCode(), 4) # __reduce__ -> (os.system, ('echo pwned',))`
const OS_SYSTEM_P4: &[u8] =
    b"\x80\x04\x95%\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\
        \x8c\necho pwned\x94\x85\x94R\x94.";
/// `Python 2: pickle.dumps('abc')`
const PY2_STRING_P0: &[u8] = b"S'abc'\np0\n.";
/// `Python 2: pickle.dumps(['a\nb', 1, 2.5, 10L])`
const PY2_LIST_P0: &[u8] = b"(lp0\nS'a\\nb'\np1\naI1\naF2.5\naL10L\na.";
/// `Python 2: pickle.dumps({'clientid': 54321}, 1)`
const PY2_DICT_P1: &[u8] = b"}q\x00U\x08clientidq\x01J1\xd4\x00\x00s.";
/// `Python 2: pickle.dumps('.' * 300, 2)`
const PY2_BINSTRING_P2: &[u8] =
    b"\x80\x02T,\x01\x00\x00..............................................................\
        ....................................................................................\
        ....................................................................................\
        ......................................................................q\x00.";
/// `the classic exploit: os.system via GLOBAL + REDUCE`
const PY2_OS_SYSTEM_P0: &[u8] = b"cos\nsystem\n(S'echo pwned'\ntR.";
/// `BINBYTES8 (CPython writes it only above 4 GiB)`
const BINBYTES8_P4: &[u8] = b"\x80\x04\x8e\x03\x00\x00\x00\x00\x00\x00\x00a.b\x94.";
/// `BINUNICODE8 (CPython writes it only above 4 GiB)`
const BINUNICODE8_P4: &[u8] = b"\x80\x04\x8d\x02\x00\x00\x00\x00\x00\x00\x00.\n\x94.";
const ALL: &[&[u8]] = &[
    CLIENTID_P0,
    CLIENTID_P1,
    CLIENTID_P2,
    CLIENTID_P3,
    CLIENTID_P4,
    CLIENTID_P5,
    ACK_P0,
    ACK_P1,
    ACK_P2,
    ACK_P3,
    ACK_P4,
    ACK_P5,
    NESTED_P0,
    NESTED_P1,
    NESTED_P2,
    NESTED_P3,
    NESTED_P4,
    NESTED_P5,
    BIG_INTS_P0,
    BIG_INTS_P2,
    LONG4_P2,
    LONG_STR_P3,
    LONG_BYTES_P3,
    FRAMED_LIST_P4,
    BYTEARRAY_P5,
    UNICODE_NEWLINE_P0,
    OS_SYSTEM_P0,
    OS_SYSTEM_P2,
    OS_SYSTEM_P4,
    PY2_STRING_P0,
    PY2_LIST_P0,
    PY2_DICT_P1,
    PY2_BINSTRING_P2,
    PY2_OS_SYSTEM_P0,
    BINBYTES8_P4,
    BINUNICODE8_P4,
];

/// What a stream framed in some chunking gave: the stream offsets just past each STOP, the
/// error (if any) and the framer's final state.
#[derive(Debug, PartialEq)]
struct Outcome {
    ends: Vec<usize>,
    error: Option<Error>,
    framer: Framer,
}

/// Frames `stream` cut into chunks of the given sizes (cycled; 0 is read as 1).
fn frame_chunked(stream: &[u8], sizes: &[usize]) -> Outcome {
    let mut framer = Framer::new();
    let mut ends = Vec::new();
    let mut error = None;
    let mut pos = 0;
    let mut size = sizes.iter().copied().cycle();
    'stream: while pos < stream.len() {
        let n = size.next().unwrap_or(1).max(1);
        let mut chunk = &stream[pos..stream.len().min(pos + n)];
        pos += chunk.len();
        loop {
            match framer.advance(chunk) {
                Ok(Progress::Incomplete) => break,
                Ok(Progress::Complete { len }) => {
                    assert!(len >= 1 && len <= chunk.len());
                    assert_eq!(chunk[len - 1], b'.');
                    assert!(!framer.in_pickle());
                    ends.push(framer.stream_offset());
                    chunk = &chunk[len..];
                    if chunk.is_empty() {
                        break;
                    }
                }
                Err(e) => {
                    error = Some(e);
                    break 'stream;
                }
            }
        }
    }
    Outcome {
        ends,
        error,
        framer,
    }
}

fn frame_whole(stream: &[u8]) -> Outcome {
    frame_chunked(stream, &[stream.len()])
}

fn concat(pickles: &[&[u8]]) -> (Vec<u8>, Vec<usize>) {
    let mut stream = Vec::new();
    let mut ends = Vec::new();
    for p in pickles {
        stream.extend_from_slice(p);
        ends.push(stream.len());
    }
    (stream, ends)
}

#[test]
fn every_fixture_is_one_pickle() {
    for (i, &p) in ALL.iter().enumerate() {
        let mut framer = Framer::new();
        assert!(!framer.in_pickle());
        // Trailing bytes (even invalid ones) are never read.
        let mut with_tail = p.to_vec();
        with_tail.extend_from_slice(b"\xff\xff");
        assert_eq!(
            framer.advance(&with_tail),
            Ok(Progress::Complete { len: p.len() }),
            "fixture {i}"
        );
        assert_eq!(framer.pickle_len(), p.len());
        assert_eq!(framer.stream_offset(), p.len());
        assert!(!framer.in_pickle());
    }
}

#[test]
fn every_fixture_split_at_every_byte() {
    for (i, &p) in ALL.iter().enumerate() {
        for cut in 1..p.len() {
            let mut framer = Framer::new();
            assert_eq!(framer.advance(&p[..cut]), Ok(Progress::Incomplete));
            assert!(framer.in_pickle(), "fixture {i} cut {cut}");
            assert_eq!(framer.pickle_len(), cut);
            assert_eq!(
                framer.advance(&p[cut..]),
                Ok(Progress::Complete { len: p.len() - cut }),
                "fixture {i} cut {cut}"
            );
            assert_eq!(framer.pickle_len(), p.len());
        }
    }
}

#[test]
fn all_fixtures_concatenated_in_any_chunk_size() {
    let (stream, ends) = concat(ALL);
    for size in [1, 2, 3, 7, 11, 64, 4096, stream.len()] {
        let out = frame_chunked(&stream, &[size]);
        assert_eq!(out.ends, ends, "chunk size {size}");
        assert_eq!(out.error, None);
        assert_eq!(out.framer.stream_offset(), stream.len());
    }
}

#[test]
fn the_lab_hot_path_many_acks_in_one_chunk() {
    let acks: Vec<&[u8]> = core::iter::repeat_n(ACK_P4, 100).collect();
    let (stream, ends) = concat(&acks);
    let mut framer = Framer::new();
    let mut rest = &stream[..];
    for _ in 0..100 {
        assert_eq!(
            framer.advance(rest),
            Ok(Progress::Complete { len: ACK_P4.len() })
        );
        rest = &rest[ACK_P4.len()..];
    }
    assert!(rest.is_empty());
    assert_eq!(framer.stream_offset(), *ends.last().unwrap());
}

#[test]
fn in_pickle_tracks_message_boundaries() {
    let mut framer = Framer::new();
    assert_eq!(framer.advance(b""), Ok(Progress::Incomplete));
    assert!(!framer.in_pickle());
    assert_eq!(framer.pickle_len(), 0);
    assert_eq!(framer.advance(&ACK_P2[..1]), Ok(Progress::Incomplete));
    assert!(framer.in_pickle());
    assert_eq!(framer.advance(b""), Ok(Progress::Incomplete));
    assert!(framer.in_pickle());
    assert_eq!(
        framer.advance(&ACK_P2[1..]),
        Ok(Progress::Complete {
            len: ACK_P2.len() - 1
        })
    );
    assert!(!framer.in_pickle());
    assert_eq!(framer.pickle_len(), ACK_P2.len());
    // The next pickle's first byte starts a new count.
    assert_eq!(framer.advance(b"I1"), Ok(Progress::Incomplete));
    assert_eq!(framer.pickle_len(), 2);
    assert_eq!(framer.advance(b"2\n."), Ok(Progress::Complete { len: 3 }));
    assert_eq!(framer.pickle_len(), 5);
    assert_eq!(framer.stream_offset(), ACK_P2.len() + 5);
}

#[test]
fn a_stop_byte_inside_arguments_is_not_an_end() {
    // '.' as BININT1's argument, inside a counted string, inside a line and a FRAME length.
    let stream = b"K.\x8c\x01.F1.5\n\x95.\x00\x00\x00\x00\x00\x00\x00.";
    assert_eq!(
        frame_whole(stream).ends,
        [stream.len()],
        "{:?}",
        frame_whole(stream)
    );
}

#[test]
fn unknown_opcode_reports_its_stream_offset() {
    let (mut stream, _) = concat(&[CLIENTID_P4, ACK_P0]);
    stream.extend_from_slice(b"N\xff.");
    let offset = CLIENTID_P4.len() + ACK_P0.len() + 1;
    let expected = Error::UnknownOpcode { byte: 0xff, offset };
    for size in [1, 5, stream.len()] {
        let out = frame_chunked(&stream, &[size]);
        assert_eq!(out.ends.len(), 2);
        assert_eq!(out.error.as_ref(), Some(&expected), "chunk size {size}");
        assert_eq!(out.framer.stream_offset(), offset + 1);
    }
}

#[test]
fn errors_are_final_until_reset() {
    let mut framer = Framer::new();
    let err = Error::UnknownOpcode { byte: 0, offset: 1 };
    assert_eq!(framer.advance(b"N\x00N."), Err(err.clone()));
    assert!(!framer.in_pickle());
    assert_eq!(framer.advance(b"N."), Err(err));
    assert_eq!(framer.stream_offset(), 2);
    framer.reset();
    assert_eq!(framer, Framer::new());
    assert_eq!(framer.advance(b"N."), Ok(Progress::Complete { len: 2 }));
}

#[test]
fn negative_binstring_and_long4_lengths_are_invalid() {
    for (opcode, byte) in [(Opcode::BINSTRING, b'T'), (Opcode::LONG4, 0x8b)] {
        let stream = [b'N', b'0', byte, 0xfe, 0xff, 0xff, 0xff, b'.'];
        let expected = Error::InvalidArgument {
            opcode,
            offset: 2,
            reason: "negative length",
        };
        let whole = frame_whole(&stream);
        assert_eq!(whole.error, Some(expected));
        assert_eq!(whole.framer.stream_offset(), 7);
        for size in [1, 2, 3, 4, 5] {
            assert_eq!(frame_chunked(&stream, &[size]), whole);
        }
    }
    // 0x7fffffff is the largest valid length: just Incomplete.
    let mut framer = Framer::new();
    assert_eq!(
        framer.advance(b"T\xff\xff\xff\x7f..."),
        Ok(Progress::Incomplete)
    );
}

#[test]
fn proto_above_5_is_unsupported() {
    let (mut stream, _) = concat(&[ACK_P5]);
    stream.extend_from_slice(b"\x80\x06N.");
    let expected = Error::UnsupportedProtocol {
        version: 6,
        offset: ACK_P5.len(),
    };
    for size in [1, ACK_P5.len() + 1, stream.len()] {
        let out = frame_chunked(&stream, &[size]);
        assert_eq!(out.ends, [ACK_P5.len()]);
        assert_eq!(out.error, Some(expected.clone()), "chunk size {size}");
    }
    assert_eq!(
        frame_whole(b"\x80\xffN.").error,
        Some(Error::UnsupportedProtocol {
            version: 255,
            offset: 0
        })
    );
}

#[test]
fn a_huge_claimed_length_is_skipped_lazily() {
    for claimed in [1u64 << 63, u64::MAX] {
        for opcode in [0x8d, 0x8e, 0x96] {
            let mut framer = Framer::new();
            let mut header = std::vec![0x80, 4, opcode];
            header.extend_from_slice(&claimed.to_le_bytes());
            // The length itself arrives a byte at a time.
            for b in &header {
                assert_eq!(framer.advance(&[*b]), Ok(Progress::Incomplete));
            }
            let junk = [b'.'; 4096];
            for _ in 0..1000 {
                assert_eq!(framer.advance(&junk), Ok(Progress::Incomplete));
                assert!(framer.in_pickle());
            }
            assert_eq!(framer.pickle_len(), header.len() + 1000 * junk.len());
            assert_eq!(framer.stream_offset(), framer.pickle_len());
        }
    }
}

#[test]
fn a_long_counted_argument_is_skipped_across_chunks() {
    // BINBYTES8 of 10_000 dots, fed in uneven chunks, then STOP.
    let mut stream = std::vec![0x80, 4, 0x8e];
    stream.extend_from_slice(&10_000u64.to_le_bytes());
    stream.extend(core::iter::repeat_n(b'.', 10_000));
    stream.push(b'.');
    for sizes in [&[1usize][..], &[4096], &[3, 997, 5000]] {
        assert_eq!(frame_chunked(&stream, sizes).ends, [stream.len()]);
    }
}

#[test]
fn state_is_a_handful_of_integers() {
    let size = core::mem::size_of::<Framer>();
    std::println!("size_of::<Framer>() = {size}");
    assert!(size <= 5 * core::mem::size_of::<usize>().max(8));
}

/// Streams of fixtures with an optional corrupted byte.
fn stream_strategy() -> impl Strategy<Value = (Vec<u8>, Vec<usize>, bool)> {
    (
        prop::collection::vec(0..ALL.len(), 1..24),
        prop::option::of((any::<prop::sample::Index>(), any::<u8>())),
    )
        .prop_map(|(picks, corruption)| {
            let pickles: Vec<&[u8]> = picks.iter().map(|&i| ALL[i]).collect();
            let (mut stream, ends) = concat(&pickles);
            let corrupted = corruption.is_some();
            if let Some((at, byte)) = corruption {
                let at = at.index(stream.len());
                stream[at] = byte;
            }
            (stream, ends, corrupted)
        })
}

/// Invalid pickle starts, each with the error it must give at offset 0.
fn invalid_starts() -> [(&'static [u8], Error); 4] {
    [
        (
            b"\xff",
            Error::UnknownOpcode {
                byte: 0xff,
                offset: 0,
            },
        ),
        (
            b"\x80\x06",
            Error::UnsupportedProtocol {
                version: 6,
                offset: 0,
            },
        ),
        (
            b"T\x00\x00\x00\x80",
            Error::InvalidArgument {
                opcode: Opcode::BINSTRING,
                offset: 0,
                reason: "negative length",
            },
        ),
        (
            b"\x8b\xff\xff\xff\xff",
            Error::InvalidArgument {
                opcode: Opcode::LONG4,
                offset: 0,
                reason: "negative length",
            },
        ),
    ]
}

proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        // Under Miri: a few cases, and no failure file (Miri's isolation has no file system).
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: if cfg!(miri) { None } else { proptest::prelude::ProptestConfig::default().failure_persistence },
        ..proptest::prelude::ProptestConfig::default()
    })]
    #[test]
    fn an_invalid_pickle_fails_at_the_same_offset_in_any_chunking(
        picks in prop::collection::vec(0..ALL.len(), 0..12),
        invalid in 0..4usize,
        sizes in prop::collection::vec(1usize..100, 1..20),
    ) {
        let pickles: Vec<&[u8]> = picks.iter().map(|&i| ALL[i]).collect();
        let (mut stream, ends) = concat(&pickles);
        let start = stream.len();
        let (bytes, error) = &invalid_starts()[invalid];
        stream.extend_from_slice(bytes);
        stream.extend_from_slice(ACK_P4);
        let whole = frame_whole(&stream);
        prop_assert_eq!(&whole.ends, &ends);
        let mut error = error.clone();
        match &mut error {
            Error::UnknownOpcode { offset, .. }
            | Error::UnsupportedProtocol { offset, .. }
            | Error::InvalidArgument { offset, .. } => *offset = start,
            _ => unreachable!(),
        }
        prop_assert_eq!(&whole.error, &Some(error));
        prop_assert_eq!(whole.framer.stream_offset(), start + bytes.len());
        prop_assert_eq!(&frame_chunked(&stream, &sizes), &whole);
        prop_assert_eq!(&frame_chunked(&stream, &[1]), &whole);
    }

    #[test]
    fn any_chunking_gives_the_same_outcome(
        (stream, ends, corrupted) in stream_strategy(),
        sizes in prop::collection::vec(1usize..200, 1..40),
    ) {
        let whole = frame_whole(&stream);
        if !corrupted {
            prop_assert_eq!(&whole.ends, &ends);
            prop_assert_eq!(&whole.error, &None);
        }
        prop_assert_eq!(&frame_chunked(&stream, &sizes), &whole);
        prop_assert_eq!(&frame_chunked(&stream, &[1]), &whole);
    }

    #[test]
    fn a_prefix_leaves_the_same_state_in_any_chunking(
        (stream, _, _) in stream_strategy(),
        cut in any::<prop::sample::Index>(),
        sizes in prop::collection::vec(1usize..50, 1..20),
    ) {
        let prefix = &stream[..cut.index(stream.len() + 1)];
        prop_assert_eq!(frame_chunked(prefix, &sizes), frame_whole(prefix));
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        sizes in prop::collection::vec(1usize..20, 1..10),
    ) {
        prop_assert_eq!(frame_chunked(&bytes, &sizes), frame_whole(&bytes));
    }
}

/// Feeds `stream` in chunks of `sizes` (cycled; 0 feeds an empty chunk) to the framer as built
/// (with `fast`) and to [`lean`](super::lean) (the framer without it) side by side: the same
/// result from every call, the same stream offset, pickle length and `in_pickle` after it,
/// and the same error again from a call after an error.
#[cfg(feature = "fast")]
fn lean_agrees(stream: &[u8], sizes: &[usize]) -> Result<(), TestCaseError> {
    let mut fast = Framer::new();
    let (mut state, mut offset, mut pickle_len) = (lean::State::IDLE, 0, 0);
    let (mut pos, mut empty) = (0, false);
    for size in sizes.iter().copied().cycle() {
        // No two empty chunks in a row: every other call makes progress.
        let size = if empty { size.max(1) } else { size };
        empty = size == 0;
        let mut chunk = &stream[pos..stream.len().min(pos + size)];
        pos += chunk.len();
        loop {
            let want = fast.advance(chunk);
            let got = lean::advance(&mut state, &mut offset, &mut pickle_len, chunk);
            prop_assert_eq!(&got, &want);
            prop_assert_eq!(offset, fast.stream_offset());
            prop_assert_eq!(pickle_len, fast.pickle_len());
            prop_assert_eq!(state.in_pickle(), fast.in_pickle());
            match want {
                Ok(Progress::Complete { len }) if len < chunk.len() => chunk = &chunk[len..],
                Ok(_) => break,
                Err(_) => {
                    let again = lean::advance(&mut state, &mut offset, &mut pickle_len, chunk);
                    prop_assert_eq!(again, fast.advance(chunk));
                    prop_assert_eq!(offset, fast.stream_offset());
                    return Ok(());
                }
            }
        }
        if pos == stream.len() {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(feature = "fast")]
#[test]
fn lean_agrees_on_fixtures_invalid_starts_and_huge_lengths() {
    let (stream, _) = concat(ALL);
    // Under Miri: two chunkings (a byte at a time takes about 10 s there).
    let sizes: &[usize] = if cfg!(miri) {
        &[7, stream.len()]
    } else {
        &[1, 2, 3, 7, 64, stream.len()]
    };
    for &size in sizes {
        lean_agrees(&stream, &[size]).unwrap();
    }
    for (bytes, _) in invalid_starts() {
        let mut stream = CLIENTID_P2.to_vec();
        stream.extend_from_slice(bytes);
        stream.extend_from_slice(ACK_P4);
        for size in [1, 3, stream.len()] {
            lean_agrees(&stream, &[size]).unwrap();
        }
    }
    // A claimed length beyond any stream, and zero-length counted arguments.
    for claimed in [1u64 << 63, u64::MAX, 1 << 32, 0] {
        for opcode in [0x8d, 0x8e, 0x96] {
            let mut stream = std::vec![0x80, 4, opcode];
            stream.extend_from_slice(&claimed.to_le_bytes());
            stream.extend_from_slice(&[b'.'; 64]);
            for sizes in [&[1usize][..], &[0, 5, 64], &[stream.len()]] {
                lean_agrees(&stream, sizes).unwrap();
            }
        }
    }
}

#[cfg(feature = "fast")]
proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        // Under Miri: a few cases, and no failure file (Miri's isolation has no file system).
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: if cfg!(miri) { None } else { proptest::prelude::ProptestConfig::default().failure_persistence },
        ..proptest::prelude::ProptestConfig::default()
    })]
    #[test]
    fn lean_agrees_on_fixture_streams(
        (stream, _, _) in stream_strategy(),
        sizes in prop::collection::vec(0usize..200, 1..40),
    ) {
        lean_agrees(&stream, &sizes)?;
    }

    #[test]
    fn lean_agrees_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        sizes in prop::collection::vec(0usize..20, 1..10),
    ) {
        lean_agrees(&bytes, &sizes)?;
    }
}
