//! Prototype, not built by the workspace (issue 21 (a)/(b), session 10, lead): serde *pulls*
//! the root dict's items from the input. `MapAccess::next_key_seed` and `next_value_seed`
//! each run the opcodes of one leaf (and its MEMOIZE) and hand it to `T`'s visitor at once:
//! no stack, no memo table, no arena, no decoder to make. A key goes to the visitor as bytes
//! (`deserialize_identifier` → `visit_borrowed_bytes`), checked only to be ASCII; a `&str`
//! value goes through `core::str::from_utf8` (the floor in safe Rust).
//!
//! Exact by fallback: any other shape, opcode, a key that may repeat (a 64-bit filter), more
//! items than the general decoder holds, any error of `T`'s visitor, or a
//! visitor that stops before STOP: the result is thrown away and brine's `pickle::from_slice`
//! (the general machine) runs from the start, so every value and error is the general
//! path's. `main` checks this on hand-made inputs before it counts. To measure:
//!
//!   cp bench/prototypes/serde_pull_machine.rs core/examples/pull_proto.rs
//!   cargo build --release -p brine-core --example pull_proto
//!   for op in pull_cid pull_id brine_cid brine_id; do for n in 2000 4000; do
//!       valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!       target/release/examples/pull_proto $op $n 2>&1 | grep Collected; done; done
//!   rm core/examples/pull_proto.rs
//!
//! (difference / 2000). Figures: BENCHMARKS.md, "The serde path: pulling from the input".
use brine_core::pickle;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::hint::black_box;

const CLIENTID: &[u8] = include_bytes!("../benches/fixtures/clientid.pickle");
const IDENTITY: &[u8] = include_bytes!("../benches/fixtures/identity.pickle");

/// What `pickle::from_slice` accepts at most (its default-sized decoder, tried when the
/// small one is full): 512 stack entries, the MARK and the dict among them. A pickle with
/// more items falls back, so the general path reports what it reports. The memo needs no
/// count: one MEMOIZE at most after each leaf, so it holds at most items + 1 < 1,024 slots.
/// Nor the expansion (each leaf counts its bytes + 1): a flat dict inside a 4 MiB input
/// stays under `MAX_EXPANSION`.
const STACK: usize = 512 - 2;
const INPUT: usize = 1 << 22;

#[derive(Deserialize, Debug, PartialEq)]
struct Hello {
    clientid: u32,
}
#[derive(Deserialize, Debug, PartialEq)]
struct Identity<'a> {
    name: &'a str,
    email: &'a str,
    student_id: u32,
    github_username: &'a str,
}

/// "Not this way": run the general machine. Never seen by a caller.
#[derive(Debug)]
struct Fallback;
impl core::fmt::Display for Fallback {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        f.write_str("fallback")
    }
}
impl std::error::Error for Fallback {}
impl de::Error for Fallback {
    #[cold]
    fn custom<T: core::fmt::Display>(_: T) -> Self {
        Fallback
    }
}

/// Decodes with the pull path, else with the general machine (the exact result).
#[inline(never)]
fn from_slice<'a, T: Deserialize<'a>>(input: &'a [u8]) -> Result<T, pickle::Error> {
    match pull(input) {
        Ok(t) => Ok(t),
        Err(Fallback) => pickle::from_slice(input),
    }
}

/// The reader: the input up to the frame's end, a position, what the checks need.
struct Pull<'a> {
    window: &'a [u8],
    pos: usize,
    /// Keys seen (a bit per (length + last byte) mod 64): a possible repeat falls back.
    seen: u64,
    /// The dict's items, against the general decoder's stack.
    items: usize,
    /// Inside MARK … SETITEMS; the pair read needs a SETITEM after it.
    open: bool,
    single: bool,
    stopped: bool,
    /// The last key read, unchecked.
    key: &'a [u8],
}

#[inline(always)]
fn pull<'a, T: Deserialize<'a>>(input: &'a [u8]) -> Result<T, Fallback> {
    // PROTO 2-5, FRAME n (the whole pickle inside it), EMPTY_DICT, MEMOIZE?
    let (window, pos) = match input {
        [0x80, 4..=5, 0x95, rest @ ..] if rest.len() >= 8 => {
            let n = u64::from_le_bytes(rest[..8].try_into().map_err(|_| Fallback)?);
            if n > (rest.len() - 8) as u64 || n > INPUT as u64 {
                return Err(Fallback);
            }
            (&input[..11 + n as usize], 11)
        }
        [0x80, 2..=3, ..] if input.len() <= INPUT => (input, 2),
        _ => return Err(Fallback),
    };
    let mut p = Pull {
        window,
        pos,
        seen: 0,
        items: 0,
        open: false,
        single: false,
        stopped: false,
        key: &[],
    };
    if p.byte()? != b'}' {
        return Err(Fallback);
    }
    p.memoize()?;
    let t = T::deserialize(Root(&mut p))?;
    // Checked once at the end (the result is thrown away if they fail): the general
    // decoder's stack (counted over the whole dict, so never less).
    if !p.stopped || p.items > STACK {
        return Err(Fallback);
    }
    Ok(t)
}

impl<'a> Pull<'a> {
    #[inline(always)]
    fn byte(&mut self) -> Result<u8, Fallback> {
        let b = *self.window.get(self.pos).ok_or(Fallback)?;
        self.pos += 1;
        Ok(b)
    }

    #[inline(always)]
    fn take(&mut self, n: usize) -> Result<&'a [u8], Fallback> {
        let s = self.window.get(self.pos..self.pos + n).ok_or(Fallback)?;
        self.pos += n;
        Ok(s)
    }

    /// An optional MEMOIZE after a value.
    #[inline(always)]
    fn memoize(&mut self) -> Result<(), Fallback> {
        if self.window.get(self.pos) == Some(&0x94) {
            self.pos += 1;
        }
        Ok(())
    }

    /// The next str's bytes (SHORT_BINUNICODE, BINUNICODE), with its MEMOIZE.
    #[inline(always)]
    fn str_bytes(&mut self, op: u8) -> Result<&'a [u8], Fallback> {
        let n = match op {
            0x8c => self.byte()? as usize,
            b'X' => u32::from_le_bytes(self.take(4)?.try_into().map_err(|_| Fallback)?) as usize,
            _ => return Err(Fallback),
        };
        let s = self.take(n)?;
        self.memoize()?;
        Ok(s)
    }

}

impl<'de> Pull<'de> {
    /// The next key, or `None` at STOP. `REPEATS`: test for a repeated key (a map; a
    /// struct's derived visitor refuses a repeated field itself, which falls back, and a
    /// repeated key it ignores changes nothing).
    #[inline(always)]
    fn next_key<K: DeserializeSeed<'de>, const REPEATS: bool>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Fallback> {
        loop {
            let op = self.byte()?;
            if op == 0x8c || op == b'X' {
                let key = self.str_bytes(op)?;
                // Not checked as UTF-8 here: a key equal to a field's name is valid, and a
                // key `T` ignores is checked when its value is ignored (below).
                self.key = key;
                if REPEATS {
                    let bit = 1u64 << ((key.len() + *key.last().unwrap_or(&0) as usize) & 63);
                    if self.seen & bit != 0 {
                        return Err(Fallback);
                    }
                    self.seen |= bit;
                }
                self.single = !self.open;
                self.items += 2;
                return seed.deserialize(Key(key)).map(Some);
            }
            match op {
                b'(' if !self.open => self.open = true,
                b'u' if self.open => self.open = false,
                b'.' if !self.open => {
                    self.stopped = true;
                    return Ok(None);
                }
                _ => return Err(Fallback),
            }
        }
    }

    #[inline(always)]
    fn next_value<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Fallback> {
        let v = seed.deserialize(&mut *self)?;
        if self.single && self.byte()? != b's' {
            return Err(Fallback);
        }
        Ok(v)
    }
}

/// The root dict read as a map.
impl<'de> MapAccess<'de> for Pull<'de> {
    type Error = Fallback;
    #[inline(always)]
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Fallback> {
        self.next_key::<K, true>(seed)
    }
    #[inline(always)]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Fallback> {
        self.next_value(seed)
    }
}

/// The root dict read as a struct's fields.
struct Fields<'p, 'de>(&'p mut Pull<'de>);

impl<'de> MapAccess<'de> for Fields<'_, 'de> {
    type Error = Fallback;
    #[inline(always)]
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Fallback> {
        self.0.next_key::<K, false>(seed)
    }
    #[inline(always)]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Fallback> {
        self.0.next_value(seed)
    }
}

/// A key: bytes to a field identifier, else a `&str`.
struct Key<'a>(&'a [u8]);

impl<'de> Deserializer<'de> for Key<'de> {
    type Error = Fallback;
    fn deserialize_any<Vi: Visitor<'de>>(self, v: Vi) -> Result<Vi::Value, Fallback> {
        v.visit_borrowed_str(core::str::from_utf8(self.0).map_err(|_| Fallback)?)
    }
    #[inline(always)]
    fn deserialize_identifier<Vi: Visitor<'de>>(self, v: Vi) -> Result<Vi::Value, Fallback> {
        v.visit_borrowed_bytes(self.0)
    }
    serde::forward_to_deserialize_any! { bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum ignored_any }
}

/// The root dict.
struct Root<'p, 'de>(&'p mut Pull<'de>);

impl<'de> Deserializer<'de> for Root<'_, 'de> {
    type Error = Fallback;
    #[inline(always)]
    fn deserialize_any<Vi: Visitor<'de>>(self, v: Vi) -> Result<Vi::Value, Fallback> {
        v.visit_map(self.0)
    }
    #[inline(always)]
    fn deserialize_struct<Vi: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        v: Vi,
    ) -> Result<Vi::Value, Fallback> {
        v.visit_map(Fields(self.0))
    }
    serde::forward_to_deserialize_any! { bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map identifier enum ignored_any }
}

/// Each value in turn.
impl<'de> Deserializer<'de> for &mut Pull<'de> {
    type Error = Fallback;

    /// A value: one leaf opcode (and its MEMOIZE).
    fn deserialize_any<Vi: Visitor<'de>>(self, v: Vi) -> Result<Vi::Value, Fallback> {
        let op = self.byte()?;
        match op {
            b'K' => {
                let n = self.byte()?;
                self.memoize()?;
                v.visit_u64(n.into())
            }
            b'M' => {
                let b = self.take(2)?;
                self.memoize()?;
                v.visit_u64(u16::from_le_bytes([b[0], b[1]]).into())
            }
            b'J' => {
                let b = self.take(4)?;
                self.memoize()?;
                v.visit_i64(i32::from_le_bytes([b[0], b[1], b[2], b[3]]).into())
            }
            b'N' => v.visit_unit(),
            0x88 => v.visit_bool(true),
            0x89 => v.visit_bool(false),
            b'G' => {
                let b = self.take(8)?;
                self.memoize()?;
                v.visit_f64(f64::from_be_bytes(b.try_into().map_err(|_| Fallback)?))
            }
            op => {
                let s = self.str_bytes(op)?;
                v.visit_borrowed_str(core::str::from_utf8(s).map_err(|_| Fallback)?)
            }
        }
    }

    /// A `&str` field: only a str opcode (anything else: the general path reports it).
    #[inline(always)]
    fn deserialize_str<Vi: Visitor<'de>>(self, v: Vi) -> Result<Vi::Value, Fallback> {
        let op = self.byte()?;
        let s = self.str_bytes(op)?;
        v.visit_borrowed_str(core::str::from_utf8(s).map_err(|_| Fallback)?)
    }

    /// A `u32` field: an int opcode in range.
    #[inline(always)]
    fn deserialize_u32<Vi: Visitor<'de>>(self, v: Vi) -> Result<Vi::Value, Fallback> {
        let n = match self.byte()? {
            b'K' => u32::from(self.byte()?),
            b'M' => {
                let b = self.take(2)?;
                u32::from(u16::from_le_bytes([b[0], b[1]]))
            }
            b'J' => {
                let b = self.take(4)?;
                u32::try_from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])).map_err(|_| Fallback)?
            }
            _ => return Err(Fallback),
        };
        self.memoize()?;
        v.visit_u32(n)
    }

    /// The value of a key `T` does not know: that key must be valid UTF-8 (a pickle's
    /// str), as the general path would check it.
    fn deserialize_ignored_any<Vi: Visitor<'de>>(self, v: Vi) -> Result<Vi::Value, Fallback> {
        core::str::from_utf8(self.key).map_err(|_| Fallback)?;
        self.deserialize_any(v)
    }

    serde::forward_to_deserialize_any! { bool i8 i16 i32 i64 i128 u8 u16 u64 u128 f32 f64 char string bytes byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier enum }
}

/// The pull path's result equals the general path's, whether it took it or fell back.
fn check<'a, T: Deserialize<'a> + PartialEq + core::fmt::Debug>(input: &'a [u8]) {
    let general = pickle::from_slice::<T>(input);
    let ours = from_slice::<T>(input);
    match (&general, &ours) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        _ => panic!("differs on {input:?}: {general:?} against {ours:?}"),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let op = args.next().expect("usage: pull_proto OP N");
    let n: u32 = args.next().expect("N").parse().expect("N: a number");
    assert!(pull::<Hello>(CLIENTID).is_ok() && pull::<Identity>(IDENTITY).is_ok());
    assert_eq!(from_slice::<Hello>(CLIENTID).unwrap().clientid, 54321);
    // Exact by fallback: each of these leaves the pull path or is refused by both.
    let mut inputs: Vec<Vec<u8>> = vec![CLIENTID.to_vec(), IDENTITY.to_vec()];
    for cut in 0..IDENTITY.len() {
        inputs.push(IDENTITY[..cut].to_vec());
    }
    let dup = b"\x80\x04}\x94(\x8c\x08clientid\x94K\x01\x8c\x08clientid\x94K\x02u.";
    let big = b"\x80\x04}\x94\x8c\x08clientid\x94J\xff\xff\xff\xffs.";
    let extra = b"\x80\x04}\x94(\x8c\x08clientid\x94K\x01\x8c\x03\xc3\xa9x\x94K\x02u.";
    let no_stop = b"\x80\x04}\x94\x8c\x08clientid\x94K\x01s";
    let bad_key = b"\x80\x04}\x94(\x8c\x02\xff\xfe\x94K\x01\x8c\x08clientid\x94K\x02u.";
    let bad_value = b"\x80\x04}\x94\x8c\x04name\x94\x8c\x01\xffs.";
    for s in [&dup[..], big, extra, no_stop, bad_key, bad_value] {
        inputs.push(s.to_vec());
    }
    for (i, input) in inputs.iter().enumerate() {
        check::<Hello>(input);
        check::<Identity>(input);
        let mut flipped = input.clone();
        if let Some(b) = flipped.get_mut(i % input.len().max(1)) {
            *b ^= 0x20;
        }
        check::<Hello>(&flipped);
        check::<Identity>(&flipped);
    }
    for _ in 0..n {
        match op.as_str() {
            "pull_cid" => {
                black_box(from_slice::<Hello>(black_box(CLIENTID)).unwrap());
            }
            "pull_id" => {
                black_box(from_slice::<Identity>(black_box(IDENTITY)).unwrap());
            }
            "brine_cid" => {
                black_box(pickle::from_slice::<Hello>(black_box(CLIENTID)).unwrap());
            }
            "brine_id" => {
                black_box(pickle::from_slice::<Identity>(black_box(IDENTITY)).unwrap());
            }
            _ => panic!("unknown op {op}"),
        }
    }
}
