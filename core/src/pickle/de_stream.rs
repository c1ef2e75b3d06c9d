//! The streaming serde path for the commonest shape: one dict of `str` keys to scalars (None,
//! bool, int of up to 64 bits, float, str, bytes, bytearray) in the binary protocols, as
//! CPython writes it (`{'clientid': 54321}`, the identity dict).
//!
//! A [`Stream`] walks the pickle once, one entry at a time, and serde reads each entry as it
//! is found (`de::from_slice`): no arena, no second pass. Anything else — another shape,
//! nesting, memo reads, a repeated key, a memo index out of sequence, more than
//! [`MAX_ENTRIES`] entries, a truncated or malformed pickle — makes the walk answer `None`;
//! the caller then drops whatever the target type made of the entries read so far and decodes
//! the pickle as it would without this path (errors included), so the outcome is the general
//! machine's in every case.

use super::number;
use super::opcodes::{le_u64, Opcode};
use super::text::{BytesEncoding, TextEncoding};
use super::value::{Bytes, Item, Str};

/// Most dict entries the streaming path takes (a larger dict goes the general way).
pub(crate) const MAX_ENTRIES: usize = 8;

/// Longest pickle taken: far below the general machine's work budget for merging keys and
/// its expansion limit (`MAX_EXPANSION`), which can therefore never decide a pickle this
/// path takes.
const MAX_LEN: usize = 1 << 16;

// The scalar opcodes [`Stream::scalar`] reads alike share their table widths.
const _: () = {
    let one = Opcode::SHORT_BINUNICODE.width();
    assert!(Opcode::SHORT_BINBYTES.width() == one && Opcode::LONG1.width() == one);
    assert!(Opcode::BINBYTES.width() == Opcode::BINUNICODE.width());
    let eight = Opcode::BINUNICODE8.width();
    assert!(Opcode::BINBYTES8.width() == eight && Opcode::BYTEARRAY8.width() == eight);
};

/// A walk over a pickle that is a dict of `str` keys to scalars. Accepts: optional PROTO
/// (0–5) and FRAME (no longer than the input; the walk stays inside it), EMPTY_DICT, then entries by SETITEM or MARK
/// ... SETITEMS, each object memoized at most once and at the next memo index, then STOP.
/// Text is not checked here (serde reads keys as bytes, and checks the UTF-8 of text it
/// borrows). Copy: a copy walks ahead (to count the entries) without moving this one.
#[derive(Clone, Copy)]
pub(crate) struct Stream<'i> {
    input: &'i [u8],
    pos: usize,
    /// Memo slots filled.
    memo: usize,
    /// Entries read.
    n: usize,
    /// A 64-bit filter of the keys read (by length and last byte).
    seen: u64,
    /// Inside MARK ... SETITEMS.
    batch: bool,
    /// Check keys against earlier ones (off while walking again to compare them).
    check: bool,
}

impl<'i> Stream<'i> {
    /// A walk positioned after the pickle's header and its EMPTY_DICT; `None` if the pickle
    /// does not start that way.
    #[inline]
    pub(crate) fn start(input: &'i [u8]) -> Option<Self> {
        // A longer pickle cannot reach its STOP in here.
        let mut input = input.get(..MAX_LEN).unwrap_or(input);
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
                // Reads past the frame's end (refused by the machine when they cross it, as
                // by pickle.py) are left to the machine.
                input = input.get(..pos + frame as usize)?;
            }
        }
        if *input.get(pos)? != b'}' {
            return None;
        }
        let mut s = Stream {
            input,
            pos,
            memo: 0,
            n: 0,
            seen: 0,
            batch: false,
            check: true,
        };
        s.pos = s.memoize(pos + 1)?;
        Some(s)
    }

    /// The next entry: `Some(None)` once STOP is reached (the pickle is then known to be one
    /// this path takes), `None` if the pickle is not such a dict.
    #[inline(always)]
    pub(crate) fn next_entry(&mut self) -> Option<Option<(Str<'i>, Item<'i>)>> {
        loop {
            let op = *self.input.get(self.pos)?;
            if self.batch {
                if op != b'u' {
                    return self.entry().map(Some);
                }
                // After SETITEMS the dict is on top again.
                self.batch = false;
                self.pos = self.memoize(self.pos + 1)?;
                continue;
            }
            match op {
                b'.' => return Some(None),
                b'(' => {
                    self.pos += 1;
                    self.batch = true;
                }
                _ => {
                    let entry = self.entry()?;
                    if *self.input.get(self.pos)? != b's' {
                        return None;
                    }
                    self.pos = self.memoize(self.pos + 1)?;
                    return Some(Some(entry));
                }
            }
        }
    }

    /// Walks to STOP: how many entries the dict has in all; `None` as
    /// [`next_entry`](Self::next_entry).
    pub(crate) fn count(mut self) -> Option<usize> {
        while self.next_entry()?.is_some() {}
        Some(self.n)
    }

    /// Entries left after those read (walking a copy to STOP).
    pub(crate) fn left(&self) -> Option<usize> {
        let read = self.n;
        self.count().map(|n| n - read)
    }

    /// One key (a `str` equal to no key before it) and its value, each optionally memoized.
    #[inline(always)]
    fn entry(&mut self) -> Option<(Str<'i>, Item<'i>)> {
        let (key, after_key) = self.scalar(self.pos)?;
        let Item::Str(key) = key else {
            return None;
        };
        if self.n == MAX_ENTRIES {
            return None;
        }
        if self.check {
            let raw = key.raw;
            let bit = 1u64 << ((raw.len() + usize::from(*raw.last().unwrap_or(&0))) & 63);
            // Only a filter hit compares with the earlier keys.
            if self.seen & bit != 0 && self.read_before(raw)? {
                return None;
            }
            self.seen |= bit;
        }
        self.n += 1;
        let at = self.memoize(after_key)?;
        let (value, end) = self.scalar(at)?;
        self.pos = self.memoize(end)?;
        Some((key, value))
    }

    /// Whether one of the `n` keys read is `key` (walking them again from the start).
    #[inline(never)]
    fn read_before(&self, key: &[u8]) -> Option<bool> {
        let mut again = Stream::start(self.input)?;
        again.check = false;
        for _ in 0..self.n {
            let (earlier, _) = again.next_entry()??;
            if earlier.raw == key {
                return Some(true);
            }
        }
        Some(false)
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

    /// The scalar whose opcode is at `at`, as the general machine makes it of the same
    /// opcode (ints as `Item::Int`, text as UTF-8 `Item::Str`, bytes as raw `Item::Bytes`,
    /// BYTEARRAY8 as `Item::ByteArray`), and the position after it; `None` for any other
    /// opcode, a LONG1 beyond 64 bits, or an argument running past the input.
    #[inline(always)]
    fn scalar(&self, at: usize) -> Option<(Item<'i>, usize)> {
        let input = self.input;
        let op = *input.get(at)?;
        let arg = at + 1;
        let fixed = |width: usize| input.get(arg..arg + width);
        let item = match op {
            b'N' => return Some((Item::None, arg)),
            0x88 => return Some((Item::Bool(true), arg)),
            0x89 => return Some((Item::Bool(false), arg)),
            b'K' => {
                let [v] = le::<{ Opcode::BININT1.width() }>(fixed)?;
                return Some((Item::Int(v.into()), arg + 1));
            }
            b'M' => {
                let v = u16::from_le_bytes(le::<{ Opcode::BININT2.width() }>(fixed)?);
                return Some((Item::Int(v.into()), arg + 2));
            }
            b'J' => {
                // BININT is signed, the shorter two are not.
                let v = i32::from_le_bytes(le::<{ Opcode::BININT.width() }>(fixed)?);
                return Some((Item::Int(v.into()), arg + 4));
            }
            b'G' => {
                let width = Opcode::BINFLOAT.width();
                let raw: [u8; 8] = fixed(width)?.try_into().ok()?;
                return Some((Item::Float(f64::from_be_bytes(raw)), arg + width));
            }
            // Counted: a length, then that many bytes.
            0x8c | b'C' | 0x8a => le_arg::<{ Opcode::SHORT_BINUNICODE.width() }>(input, arg)?,
            b'X' | b'B' => le_arg::<{ Opcode::BINUNICODE.width() }>(input, arg)?,
            0x8d | 0x8e | 0x96 => le_arg::<{ Opcode::BINUNICODE8.width() }>(input, arg)?,
            _ => return None,
        };
        let (len, start) = item;
        let end = start.checked_add(len)?;
        let raw = input.get(start..end)?;
        let bytes = Bytes {
            raw,
            enc: BytesEncoding::Raw,
        };
        let item = match op {
            0x8c | b'X' | 0x8d => Item::Str(Str {
                raw,
                enc: TextEncoding::Utf8,
            }),
            0x96 => Item::ByteArray(bytes),
            0x8a => Item::Int(number::le_to_i64(raw)?),
            _ => Item::Bytes(bytes),
        };
        Some((item, end))
    }
}

/// The `W` argument bytes `fixed` gives (`W` being the opcode's table width).
#[inline(always)]
fn le<'a, const W: usize>(fixed: impl Fn(usize) -> Option<&'a [u8]>) -> Option<[u8; W]> {
    fixed(W)?.try_into().ok()
}

/// The little-endian unsigned argument `W` bytes wide (an opcode's table width) at `at`, as a
/// `usize`, and the position after it.
#[inline(always)]
fn le_arg<const W: usize>(input: &[u8], at: usize) -> Option<(usize, usize)> {
    let value = usize::try_from(le_u64(input.get(at..at + W)?)).ok()?;
    Some((value, at + W))
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

    /// The entries of a pickle the streaming path takes, walked to STOP.
    fn entries(input: &[u8]) -> Option<usize> {
        Stream::start(input)?.count()
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
        for line in python3(RANDOM_PICKLES).lines() {
            let pickle = unhex(line);
            streamed += usize::from(entries(&pickle).is_some());
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
        for input in refused {
            assert_eq!(entries(input), None, "{input:x?}");
            agree_all(input);
        }
        let taken = b"\x80\x04}\x94(\x8c\x02ab\x94K\x01\x8c\x01c\x94K\x02u.";
        assert_eq!(entries(taken), Some(2));
        agree_all(taken);
    }
}
