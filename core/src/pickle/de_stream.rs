//! The streaming serde path for the commonest shape: one dict of `str` keys to scalars (None,
//! bool, int of up to 64 bits, float, str, bytes, bytearray) in the binary protocols, as
//! CPython writes it (`{'clientid': 54321}`, the identity dict).
//!
//! [`scan`] reads the whole pickle first, up to STOP, and records each key's and value's
//! opcode and argument span; serde then makes the items from those ([`item`]), so no arena
//! is filled. Anything else — another shape, nesting, memo reads, a repeated key, a memo index
//! out of sequence, more than [`MAX_ENTRIES`] entries, a truncated or malformed pickle — makes
//! `scan` answer `None` before the target type has seen anything, and the caller decodes the
//! pickle as it would without this path (errors included).

use super::number;
use super::opcodes::{le_u64, Opcode};
use super::text::{BytesEncoding, TextEncoding};
use super::value::{Bytes, Item, Str};

/// Most dict entries the streaming path takes (a larger dict goes the general way).
pub(crate) const MAX_ENTRIES: usize = 8;

/// Longest pickle taken (so every offset fits a `u16`): far below the general
/// machine's work budget for merging keys (`MAX_EXPANSION`), which can therefore never decide
/// a pickle this path takes.
const MAX_LEN: usize = 1 << 16;

// The scalar opcodes [`Scan::scalar`] reads alike share their table widths.
const _: () = {
    let one = Opcode::SHORT_BINUNICODE.width();
    assert!(Opcode::SHORT_BINBYTES.width() == one && Opcode::LONG1.width() == one);
    assert!(Opcode::BINBYTES.width() == Opcode::BINUNICODE.width());
    let eight = Opcode::BINUNICODE8.width();
    assert!(Opcode::BINBYTES8.width() == eight && Opcode::BYTEARRAY8.width() == eight);
};

/// A scalar found by [`scan`]: its opcode, and its argument's offset and length (text,
/// bytes, LONG1, BINFLOAT) or its value (BININT, BININT1, BININT2).
#[derive(Clone, Copy, Default)]
pub(crate) struct Found {
    op: u8,
    start: u16,
    arg: u32,
}

/// The keys and values of a scanned dict, alternating.
pub(crate) type Items = [Found; 2 * MAX_ENTRIES];

/// Scans the pickle at the start of `input`; if it is a dict of `str` keys to scalars,
/// writes its keys and values into `items` and returns how many it wrote. Accepts: optional
/// PROTO (0–5) and FRAME (no longer than the input), EMPTY_DICT, then entries by SETITEM or
/// MARK ... SETITEMS, each object memoized at most once and at the next memo index, then
/// STOP. Text is not checked here (serde reads keys as bytes, and checks the UTF-8 of text
/// it borrows).
pub(crate) fn scan(input: &[u8], items: &mut Items) -> Option<usize> {
    // A longer pickle cannot reach its STOP in here.
    let input = input.get(..MAX_LEN).unwrap_or(input);
    let mut pos = 0;
    if let [0x80, version, rest @ ..] = input {
        // The pattern reads the protocol version as one byte.
        const _: () = assert!(Opcode::PROTO.width() == 1);
        if *version > 5 {
            return None;
        }
        pos = 1 + Opcode::PROTO.width();
        if let [0x95, f @ ..] = rest {
            let frame = le_u64(f.get(..Opcode::FRAME.width())?);
            pos += 1 + Opcode::FRAME.width();
            if frame > (input.len() - pos) as u64 {
                return None;
            }
        }
    }
    if *input.get(pos)? != b'}' {
        return None;
    }
    let mut r = Scan {
        input,
        memo: 0,
        n: 0,
        seen: 0,
    };
    pos = r.memoize(pos + 1)?;
    loop {
        match *input.get(pos)? {
            b'.' => return Some(r.n),
            b'(' => {
                pos += 1;
                while *input.get(pos)? != b'u' {
                    pos = r.entry(pos, items)?;
                }
            }
            _ => {
                pos = r.entry(pos, items)?;
                if *input.get(pos)? != b's' {
                    return None;
                }
            }
        }
        // After SETITEM(S) the dict is on top again.
        pos = r.memoize(pos + 1)?;
    }
}

struct Scan<'i> {
    input: &'i [u8],
    /// Memo slots filled.
    memo: usize,
    /// Items found.
    n: usize,
    /// A 64-bit filter of the keys found (by length and last byte).
    seen: u64,
}

impl Scan<'_> {
    /// One key (a `str` equal to no key before it) and its value, each optionally memoized,
    /// from `pos`; records them and returns the position after them.
    fn entry(&mut self, pos: usize, items: &mut Items) -> Option<usize> {
        let (key, after_key) = self.scalar(pos)?;
        if !matches!(key.op, 0x8c | b'X' | 0x8d) {
            return None;
        }
        let raw = span(self.input, key);
        let bit = 1u64 << ((raw.len() + usize::from(*raw.last().unwrap_or(&0))) & 63);
        if self.seen & bit != 0 {
            // Only a filter hit compares with the earlier keys.
            let earlier = items.get(..self.n)?.iter().step_by(2);
            if earlier.map(|k| span(self.input, *k)).any(|k| k == raw) {
                return None;
            }
        }
        self.seen |= bit;
        let at = self.memoize(after_key)?;
        let (value, end) = self.scalar(at)?;
        let [k, v] = items.get_mut(self.n..self.n + 2)? else {
            return None;
        };
        (*k, *v) = (key, value);
        self.n += 2;
        self.memoize(end)
    }

    /// MEMOIZE, BINPUT or LONG_BINPUT at `pos` (at the next memo index only), or nothing:
    /// the position after it; `None` for a memo opcode at another index.
    #[inline(always)]
    fn memoize(&mut self, pos: usize) -> Option<usize> {
        let input = self.input;
        let (index, next) = match input.get(pos) {
            Some(0x94) => (self.memo, pos + 1),
            Some(b'q') => le_arg::<{ Opcode::BINPUT.width() }>(input, pos + 1)?,
            Some(b'r') => le_arg::<{ Opcode::LONG_BINPUT.width() }>(input, pos + 1)?,
            _ => return Some(pos),
        };
        if index != self.memo {
            return None;
        }
        self.memo += 1;
        Some(next)
    }

    /// The scalar whose opcode is at `at`, and the position after it; `None` for any other
    /// opcode, a LONG1 beyond 64 bits, or an argument running past the input.
    #[inline(always)]
    fn scalar(&self, at: usize) -> Option<(Found, usize)> {
        let input = self.input;
        let op = *input.get(at)?;
        let arg = at + 1;
        let (len, start) = match op {
            b'N' | 0x88 | 0x89 => {
                return Some((
                    Found {
                        op,
                        start: 0,
                        arg: 0,
                    },
                    arg,
                ))
            }
            b'K' => (Opcode::BININT1.width(), arg),
            b'M' => (Opcode::BININT2.width(), arg),
            b'J' => (Opcode::BININT.width(), arg),
            b'G' => (Opcode::BINFLOAT.width(), arg),
            // Counted: a length, then that many bytes.
            0x8c | b'C' | 0x8a => le_arg::<{ Opcode::SHORT_BINUNICODE.width() }>(input, arg)?,
            b'X' | b'B' => le_arg::<{ Opcode::BINUNICODE.width() }>(input, arg)?,
            0x8d | 0x8e | 0x96 => le_arg::<{ Opcode::BINUNICODE8.width() }>(input, arg)?,
            _ => return None,
        };
        let end = start.checked_add(len)?;
        let bytes = input.get(start..end)?;
        let arg = match op {
            b'K' => le_u64(bytes.get(..Opcode::BININT1.width())?) as u32,
            b'M' => le_u64(bytes.get(..Opcode::BININT2.width())?) as u32,
            b'J' => le_u64(bytes.get(..Opcode::BININT.width())?) as u32,
            0x8a => {
                number::le_to_i64(bytes)?;
                len as u32
            }
            _ => len as u32,
        };
        // Offsets and lengths are below MAX_LEN.
        let start = start as u16;
        Some((Found { op, start, arg }, end))
    }
}

/// The little-endian unsigned argument `W` bytes wide (an opcode's table width) at `at`, as a
/// `usize`, and the position after it.
#[inline(always)]
fn le_arg<const W: usize>(input: &[u8], at: usize) -> Option<(usize, usize)> {
    let value = usize::try_from(le_u64(input.get(at..at + W)?)).ok()?;
    Some((value, at + W))
}

/// The argument bytes of a text, bytes, LONG1 or BINFLOAT scalar.
fn span(input: &[u8], found: Found) -> &[u8] {
    let start = found.start as usize;
    input.get(start..start + found.arg as usize).unwrap_or(&[])
}

/// The item [`scan`] found, as the general machine makes it of the same opcode: ints as
/// `Item::Int`, text as UTF-8 `Item::Str`, bytes as raw `Item::Bytes` (BYTEARRAY8 as
/// `Item::ByteArray`).
#[inline(always)]
pub(crate) fn item(input: &[u8], found: Found) -> Item<'_> {
    let raw = span(input, found);
    let bytes = Bytes {
        raw,
        enc: BytesEncoding::Raw,
    };
    match found.op {
        0x8c | b'X' | 0x8d => Item::Str(Str {
            raw,
            enc: TextEncoding::Utf8,
        }),
        b'C' | b'B' | 0x8e => Item::Bytes(bytes),
        0x96 => Item::ByteArray(bytes),
        b'K' | b'M' => Item::Int(found.arg.into()),
        b'J' => Item::Int((found.arg as i32).into()),
        0x8a => Item::Int(number::le_to_i64(raw).unwrap_or(0)),
        b'G' => Item::Float(f64::from_be_bytes(raw.try_into().unwrap_or([0; 8]))),
        0x88 => Item::Bool(true),
        0x89 => Item::Bool(false),
        _ => Item::None,
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::super::de::{from_slice, from_slice_by_machine};
    use super::super::oracle::{python3, unhex};
    use super::super::Decoder;
    use super::*;
    use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde::Deserialize;
    use std::collections::BTreeMap;
    use std::format;
    use std::string::String;

    /// Everything serde's `deserialize_any` shows of a value, as text.
    #[derive(Debug)]
    struct Trace(#[allow(dead_code)] String);

    impl<'de> Deserialize<'de> for Trace {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(TraceVisitor).map(Trace)
        }
    }

    struct TraceVisitor;

    macro_rules! trace {
        ($($method:ident: $ty:ty,)*) => {
            $(fn $method<E: de::Error>(self, v: $ty) -> Result<String, E> {
                Ok(format!("{}({:?})", stringify!($method), v))
            })*
        };
    }

    impl<'de> Visitor<'de> for TraceVisitor {
        type Value = String;

        fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
            f.write_str("anything")
        }

        trace! {
            visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_i128: i128,
            visit_str: &str, visit_borrowed_str: &'de str, visit_bytes: &[u8],
            visit_borrowed_bytes: &'de [u8],
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
            Ok(format!("f64({:x})", v.to_bits()))
        }

        fn visit_unit<E: de::Error>(self) -> Result<String, E> {
            Ok("unit".into())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<String, A::Error> {
            let mut out = format!("seq{:?}[", seq.size_hint());
            while let Some(Trace(item)) = seq.next_element()? {
                out += &format!("{item}, ");
            }
            Ok(out + "]")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<String, A::Error> {
            let mut out = format!("map{:?}{{", map.size_hint());
            while let Some(Trace(key)) = map.next_key()? {
                let Trace(value) = map.next_value()?;
                out += &format!("{key}: {value}, ");
            }
            Ok(out + "}")
        }
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Hello {
        clientid: u32,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Identity<'a> {
        name: &'a str,
        email: Option<&'a str>,
        student_id: i64,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    #[serde(default)]
    struct Fields<'a> {
        a: Option<f32>,
        b: bool,
        c: String,
        #[serde(borrow, with = "serde_bytes")]
        ab: &'a [u8],
        ba: Option<char>,
        x: i8,
    }

    impl Default for Fields<'_> {
        fn default() -> Self {
            Fields {
                a: None,
                b: false,
                c: String::new(),
                ab: b"",
                ba: None,
                x: 0,
            }
        }
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    enum Command {
        Stop,
        Move(u8),
        Go { c: u8 },
    }

    /// `from_slice` and `Decoder::deserialize` (streaming path first) against the general
    /// machine, on one input as one target type: the same value or the same error.
    fn agree<'a, T: Deserialize<'a> + core::fmt::Debug>(
        machine: &'a mut Decoder,
        reused: &mut Decoder,
        input: &'a [u8],
    ) {
        let want = format!("{:?}", from_slice_by_machine::<T>(machine, input));
        let got = format!("{:?}", from_slice::<T>(input));
        let what = core::any::type_name::<T>();
        assert_eq!(got, want, "from_slice, {input:x?} as {what}");
        let got = format!("{:?}", reused.deserialize::<T>(input));
        assert_eq!(got, want, "Decoder::deserialize, {input:x?} as {what}");
    }

    fn agree_all(input: &[u8]) {
        let (mut m, mut r): (Decoder, Decoder) = (Decoder::new(), Decoder::new());
        agree::<Trace>(&mut m, &mut r, input);
        agree::<Hello>(&mut m, &mut r, input);
        agree::<Identity<'_>>(&mut m, &mut r, input);
        agree::<Fields<'_>>(&mut m, &mut r, input);
        agree::<BTreeMap<&str, Option<i64>>>(&mut m, &mut r, input);
        agree::<BTreeMap<String, Trace>>(&mut m, &mut r, input);
        agree::<Command>(&mut m, &mut r, input);
        agree::<(u8, String)>(&mut m, &mut r, input);
        agree::<Option<Hello>>(&mut m, &mut r, input);
        agree::<&str>(&mut m, &mut r, input);
        agree::<de::IgnoredAny>(&mut m, &mut r, input);
    }

    /// Random objects pickled by CPython in protocols 0–5, most of them dicts of str keys to
    /// scalars (the streaming path's shape) and many near it: int keys, nesting, a str object
    /// twice (a memo read), more entries than MAX_ENTRIES, big ints, lone surrogates (invalid
    /// UTF-8), keys whose filter bits collide ('ab' and 'c').
    const RANDOM_PICKLES: &str = r#"
import pickle, random
r = random.Random(14)
def scalar():
    return r.choice([None, True, False, r.randrange(256), r.randrange(65536),
        r.randrange(-2**31, 2**31), r.randrange(-2**63, 2**63), r.randrange(2**63, 2**70),
        -r.randrange(2**63 + 1, 2**70), r.random() * 1e6 - 5e5, float('nan'), -0.0,
        'x' * r.randrange(300), 'é' + str(r.randrange(99)), '\ud800', 'a',
        b'\x00\xff' * r.randrange(3), b'x' * 300, bytearray(b'ab')])
def key():
    if r.random() < 0.05:
        return r.randrange(5)
    return r.choice(['clientid', 'name', 'email', 'student_id', 'a', 'b', 'c', 'ab', 'ba',
        'x', 'Stop', 'Move', 'Go', 'é', '\ud800', 'k' * r.randrange(1, 70)])
def obj(depth=0):
    k = r.randrange(10)
    if k < 7:
        d, shared = {}, 'shared' + str(r.randrange(3))
        for _ in range(r.choice([0, 1, 1, 2, 3, 4, 5, 16, 17, 20])):
            v = obj(depth + 1) if depth == 0 and r.random() < 0.1 else scalar()
            d[key()] = shared if r.random() < 0.05 else v
        return d
    if k == 7:
        return [scalar() for _ in range(r.randrange(4))]
    if k == 8:
        return tuple(scalar() for _ in range(r.randrange(4)))
    return scalar()
for _ in range(150):
    o = obj()
    for p in range(6):
        print(pickle.dumps(o, p).hex())
"#;

    #[test]
    #[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
    fn streaming_path_agrees_with_the_machine_on_random_cpython_pickles() {
        let mut streamed = 0;
        let mut items = [Found::default(); 2 * MAX_ENTRIES];
        for line in python3(RANDOM_PICKLES).lines() {
            let pickle = unhex(line);
            streamed += usize::from(scan(&pickle, &mut items).is_some());
            agree_all(&pickle);
            // Cut short, and one byte changed: errors agree too.
            for cut in [1, 2, pickle.len() / 2, pickle.len() - 1] {
                agree_all(&pickle[..cut]);
            }
            for i in (0..pickle.len()).step_by(11) {
                let mut bad = pickle.clone();
                bad[i] ^= 0x41;
                agree_all(&bad);
            }
        }
        assert!(
            streamed > 150,
            "the streaming path took only {streamed} pickles"
        );
    }

    /// Pickles the streaming path must leave to the machine (which decides, errors included).
    #[test]
    fn refuses_what_it_does_not_take() {
        let refused: &[&[u8]] = &[
            // A repeated key, read the machine's way (the last value wins).
            b"\x80\x04}\x94(\x8c\x01a\x94K\x01\x8c\x01a\x94K\x02u.",
            // Keys 'ab' and 'c' share a filter bit: compared, different, taken (below).
            // A memo index out of sequence, a memo read, a nested list, a big int.
            b"\x80\x04}q\x05(\x8c\x01aK\x01u.",
            b"\x80\x04}\x94(\x8c\x01a\x94h\x01u.",
            b"\x80\x04}\x94(\x8c\x01a\x94]\x94u.",
            b"\x80\x04}\x94(\x8c\x01a\x94\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01u.",
            // A FRAME longer than the input, a protocol above 5, no STOP.
            b"\x80\x04\x95\x40\x00\x00\x00\x00\x00\x00\x00}\x94.",
            b"\x80\x06}.",
            b"\x80\x04}\x94(\x8c\x01aK\x01u",
        ];
        let mut items = [Found::default(); 2 * MAX_ENTRIES];
        for input in refused {
            assert_eq!(scan(input, &mut items), None, "{input:x?}");
            agree_all(input);
        }
        let taken = b"\x80\x04}\x94(\x8c\x02ab\x94K\x01\x8c\x01c\x94K\x02u.";
        assert_eq!(scan(taken, &mut items), Some(4));
        agree_all(taken);
    }
}
