//! Prototype, not built by the workspace (issue 21, s8-serde): a lean pickle machine that
//! feeds serde during its run, for the lab's shapes. The stack holds leaf values themselves
//! (a str is a span of the input), the memo copies of them; no arena. At the SETITEMS or
//! SETITEM that fills the root dict and is followed by STOP, the machine hands the stack's
//! items to `T`'s visitor as a map (keys distinct by a bit filter, expansion summed, as the
//! general machine checks them); any other shape, opcode or doubt returns `E`, where a real
//! design would run the general machine (the exact slow path). Measures what "one machine
//! feeding a serde visitor" costs at best against "one machine, then a visit of its arena"
//! (`serde_lean_machine.rs`). To measure:
//!
//!   cp bench/prototypes/serde_stream_machine.rs core/examples/stream_proto.rs
//!   cargo build --release -p brine-core --example stream_proto
//!   for n in 2000 4000; do valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!       target/release/examples/stream_proto p_cid $n 2>&1 | grep Collected; done
//!
//! (difference / 2000; `p_id` for the identity). 2026-12-07, 00:57 UTC, s8-serde, rustc 1.95:
//! p_cid 383, p_id 1,397 (callgrind of p_id: the machine ~700 with its 1 KiB of arrays
//! filled, the visit 655: `from_utf8` of the three `&str` fields 303, the derived `visit_map`
//! with its field match, the iteration and spans 352); with 16-entry stack and memo 367 and
//! 1,381.
//! `serde_lean_machine.rs` (one machine, then a visit) measured 517 and 1,743 in the same
//! tree. CPython 3.11: 3,699 and 7,936 (12x: 308; 8x: 992).
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::hint::black_box;

const CLIENTID: &[u8] = include_bytes!("../benches/fixtures/clientid.pickle");
const IDENTITY: &[u8] = include_bytes!("../benches/fixtures/identity.pickle");

#[derive(Deserialize)]
#[allow(dead_code)]
struct Hello {
    clientid: u32,
}
#[derive(Deserialize)]
#[allow(dead_code)]
struct Identity<'a> {
    name: &'a str,
    email: &'a str,
    student_id: u32,
    github_username: &'a str,
}

/// A stack entry: a leaf's value, the (empty) root dict, or a MARK.
#[derive(Clone, Copy)]
enum N {
    None,
    Bool(bool),
    Int(i64),
    Str(u32, u32),
    Dict,
}

#[derive(Debug)]
struct E;
impl core::fmt::Display for E {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        f.write_str("e")
    }
}
impl std::error::Error for E {}
impl de::Error for E {
    fn custom<T: core::fmt::Display>(_: T) -> Self {
        E
    }
}

/// One run: decodes `input` and, at the root dict's last fill, deserializes `T` from it.
#[inline(never)]
fn from_slice<'a, T: Deserialize<'a>>(input: &'a [u8]) -> Result<T, E> {
    let mut stack = [N::None; 32];
    let mut sp = 0usize;
    let mut marks = [0u8; 8];
    let mut nm = 0usize;
    let mut memo = [N::None; 32];
    let mut nmemo = 0usize;
    let mut pos = 0usize;
    let mut frame_end = 0usize;
    macro_rules! push {
        ($n:expr) => {{
            if sp >= stack.len() {
                return Err(E);
            }
            stack[sp] = $n;
            sp += 1;
        }};
    }
    loop {
        let op = *input.get(pos).ok_or(E)?;
        pos += 1;
        match op {
            0x80 => {
                let v = *input.get(pos).ok_or(E)?;
                if v > 5 {
                    return Err(E);
                }
                pos += 1;
            }
            0x95 => {
                let b = input.get(pos..pos + 8).ok_or(E)?;
                let n = u64::from_le_bytes(b.try_into().map_err(|_| E)?);
                pos += 8;
                if n > (input.len() - pos) as u64 || pos < frame_end {
                    return Err(E);
                }
                frame_end = pos + n as usize;
            }
            b'}' => {
                // Only the root may be a dict here (anything else: the general machine).
                if sp != 0 {
                    return Err(E);
                }
                push!(N::Dict)
            }
            0x94 => {
                if sp == 0 || nmemo >= memo.len() {
                    return Err(E);
                }
                memo[nmemo] = stack[sp - 1];
                nmemo += 1;
            }
            0x8c => {
                let n = *input.get(pos).ok_or(E)? as usize;
                let s = pos + 1;
                let e = s + n;
                if e > input.len() || (pos < frame_end && e > frame_end) {
                    return Err(E);
                }
                pos = e;
                push!(N::Str(s as u32, n as u32))
            }
            b'K' => {
                let v = *input.get(pos).ok_or(E)?;
                pos += 1;
                push!(N::Int(v.into()))
            }
            b'M' => {
                let b = input.get(pos..pos + 2).ok_or(E)?;
                pos += 2;
                push!(N::Int(u16::from_le_bytes([b[0], b[1]]).into()))
            }
            b'J' => {
                let b = input.get(pos..pos + 4).ok_or(E)?;
                pos += 4;
                push!(N::Int(i32::from_le_bytes(b.try_into().map_err(|_| E)?).into()))
            }
            b'N' => push!(N::None),
            0x88 => push!(N::Bool(true)),
            0x89 => push!(N::Bool(false)),
            b'(' => {
                if nm >= marks.len() {
                    return Err(E);
                }
                marks[nm] = sp as u8;
                nm += 1;
            }
            b's' | b'u' => {
                let from = if op == b's' {
                    sp.checked_sub(2).ok_or(E)?
                } else {
                    nm = nm.checked_sub(1).ok_or(E)?;
                    marks[nm] as usize
                };
                // The root dict, filled once, then STOP: feed `T` (else the general machine).
                if from != 1 || nm != 0 || input.get(pos) != Some(&b'.') {
                    return Err(E);
                }
                let N::Dict = stack[0] else { return Err(E) };
                let items = &stack[from..sp];
                if items.len() % 2 != 0 {
                    return Err(E);
                }
                // Keys: hashable leaves, certainly distinct (else merging: the general
                // machine); the expanded size, summed as the general machine sums it.
                let (mut seen, mut expansion) = (0u64, 1u64);
                for pair in items.chunks_exact(2) {
                    match pair[0] {
                        N::Str(s, l) => {
                            let last = if l > 0 { input[(s + l - 1) as usize] } else { 0 };
                            let bit = 1u64 << ((l as usize + last as usize) & 63);
                            if seen & bit != 0 {
                                return Err(E);
                            }
                            seen |= bit;
                            expansion += u64::from(l) + 1;
                        }
                        _ => return Err(E),
                    }
                    expansion += match pair[1] {
                        N::Str(_, l) => u64::from(l) + 1,
                        N::Dict => return Err(E),
                        _ => 1,
                    };
                }
                if expansion > 1 << 24 {
                    return Err(E);
                }
                return T::deserialize(Root { input, items });
            }
            _ => return Err(E),
        }
    }
}

/// The root dict: its items on the machine's stack.
struct Root<'a, 's> {
    input: &'a [u8],
    items: &'s [N],
}
struct Entries<'a, 's> {
    input: &'a [u8],
    items: core::slice::Iter<'s, N>,
}
/// One leaf.
#[derive(Clone, Copy)]
struct Leaf<'a> {
    input: &'a [u8],
    n: N,
}
impl<'a> Leaf<'a> {
    fn span(self, s: u32, l: u32) -> Result<&'a [u8], E> {
        self.input.get(s as usize..(s + l) as usize).ok_or(E)
    }
}

impl<'de, 's> MapAccess<'de> for Entries<'de, 's> {
    type Error = E;
    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, E> {
        match self.items.next() {
            Some(&n) => seed.deserialize(Leaf { input: self.input, n }).map(Some),
            None => Ok(None),
        }
    }
    #[inline]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, E> {
        let &n = self.items.next().ok_or(E)?;
        seed.deserialize(Leaf { input: self.input, n })
    }
}

impl<'de, 's> Deserializer<'de> for Root<'de, 's> {
    type Error = E;
    fn deserialize_any<Vi: Visitor<'de>>(self, v: Vi) -> Result<Vi::Value, E> {
        v.visit_map(Entries {
            input: self.input,
            items: self.items.iter(),
        })
    }
    serde::forward_to_deserialize_any! { bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier enum ignored_any }
}

impl<'de> Deserializer<'de> for Leaf<'de> {
    type Error = E;
    fn deserialize_any<Vi: Visitor<'de>>(self, v: Vi) -> Result<Vi::Value, E> {
        match self.n {
            N::None => v.visit_unit(),
            N::Bool(b) => v.visit_bool(b),
            N::Int(i) => v.visit_i64(i),
            N::Str(s, l) => {
                v.visit_borrowed_str(core::str::from_utf8(self.span(s, l)?).map_err(|_| E)?)
            }
            N::Dict => Err(E),
        }
    }
    #[inline]
    fn deserialize_u32<Vi: Visitor<'de>>(self, v: Vi) -> Result<Vi::Value, E> {
        match self.n {
            N::Int(i) => v.visit_u32(u32::try_from(i).map_err(|_| E)?),
            _ => Err(E),
        }
    }
    #[inline]
    fn deserialize_str<Vi: Visitor<'de>>(self, v: Vi) -> Result<Vi::Value, E> {
        match self.n {
            N::Str(s, l) => {
                v.visit_borrowed_str(core::str::from_utf8(self.span(s, l)?).map_err(|_| E)?)
            }
            _ => Err(E),
        }
    }
    #[inline]
    fn deserialize_identifier<Vi: Visitor<'de>>(self, v: Vi) -> Result<Vi::Value, E> {
        match self.n {
            N::Str(s, l) => v.visit_borrowed_bytes(self.span(s, l)?),
            _ => Err(E),
        }
    }
    serde::forward_to_deserialize_any! { bool i8 i16 i32 i64 i128 u8 u16 u64 u128 f32 f64 char string bytes byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum ignored_any }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let op = args.next().unwrap();
    let n: u32 = args.next().unwrap().parse().unwrap();
    assert_eq!(from_slice::<Hello>(CLIENTID).unwrap().clientid, 54321);
    let id = from_slice::<Identity>(IDENTITY).unwrap();
    assert_eq!(
        (id.name, id.email, id.student_id, id.github_username),
        ("Jose Ortiz", "jose@sfsu.edu", 917654321, "jortiz")
    );
    for _ in 0..n {
        match op.as_str() {
            "p_cid" => {
                black_box(from_slice::<Hello>(black_box(CLIENTID)).unwrap());
            }
            "p_id" => {
                black_box(from_slice::<Identity>(black_box(IDENTITY)).unwrap());
            }
            _ => panic!(),
        }
    }
}
