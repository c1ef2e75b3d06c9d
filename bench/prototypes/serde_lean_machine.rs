//! Prototype, not built by the workspace (issue 21, s7-serde): a lean pickle machine for the
//! lab's shapes (dispatch on the raw byte, contiguous container items, a memo array, a MARK
//! stack, a distinct-key bit filter, an expansion sum; no error detail, no other opcodes) into
//! a tiny arena filled per call, then a serde visit of that arena: what "one machine, then a
//! visit" costs at best for `struct Hello` and the identity struct. To measure:
//!
//!   cp bench/prototypes/serde_lean_machine.rs core/examples/lean_proto.rs
//!   cargo build --release -p brine-core --example lean_proto
//!   for n in 2000 4000; do valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!       target/release/examples/lean_proto p_cid $n 2>&1 | grep Collected; done
//!
//! (difference / 2000; `p_id` for the identity). 2026-12-06, 23:15 UTC: p_cid 517 (the
//! machine 361), p_id 1,743 (the machine ~960, from_utf8 316). CPython 3.11: 3,699 and 7,936.
use std::hint::black_box;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

const CLIENTID: &[u8] = include_bytes!("../benches/fixtures/clientid.pickle");
const IDENTITY: &[u8] = include_bytes!("../benches/fixtures/identity.pickle");

#[derive(Deserialize)]
#[allow(dead_code)]
struct Hello { clientid: u32 }
#[derive(Deserialize)]
#[allow(dead_code)]
struct Identity<'a> { name: &'a str, email: &'a str, student_id: u32, github_username: &'a str }

#[derive(Clone, Copy)]
enum N { None, Bool(bool), Int(i64), Str(u32, u32), Dict(u16, u16) }

const V: usize = 32;
struct Arena { nodes: [N; V], items: [u16; 64], nitems: usize, nnodes: usize }

#[derive(Debug)]
struct E;
impl core::fmt::Display for E { fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result { f.write_str("e") } }
impl std::error::Error for E {}
impl de::Error for E { fn custom<T: core::fmt::Display>(_: T) -> Self { E } }

#[inline(never)]
fn run(input: &[u8], a: &mut Arena) -> Result<u16, E> {
    let mut stack = [0u16; 16];
    let mut sp = 0usize;
    let mut marks = [0u8; 8];
    let mut nm = 0usize;
    let mut memo = [0u16; 16];
    let mut nmemo = 0usize;
    let mut expansion = 0u32;
    let mut pos = 0usize;
    let mut frame_end = 0usize;
    macro_rules! push { ($n:expr) => {{
        let id = a.nnodes; if id >= V { return Err(E) } a.nodes[id] = $n; a.nnodes += 1;
        if sp >= stack.len() { return Err(E) } stack[sp] = id as u16; sp += 1; }} }
    loop {
        let op = *input.get(pos).ok_or(E)?;
        pos += 1;
        match op {
            0x80 => { let v = *input.get(pos).ok_or(E)?; if v > 5 { return Err(E) } pos += 1; }
            0x95 => { let b = input.get(pos..pos + 8).ok_or(E)?; let n = u64::from_le_bytes(b.try_into().unwrap()); pos += 8;
                      if n > (input.len() - pos) as u64 { return Err(E) } frame_end = pos + n as usize; }
            b'}' => push!(N::Dict(0, 0)),
            0x94 => { if sp == 0 || nmemo >= memo.len() { return Err(E) } memo[nmemo] = stack[sp - 1]; nmemo += 1; }
            0x8c => { let n = *input.get(pos).ok_or(E)? as usize; let s = pos + 1; let e = s + n;
                      if e > input.len() || (pos < frame_end && e > frame_end) { return Err(E) }
                      expansion += n as u32 + 1; pos = e; push!(N::Str(s as u32, n as u32)); }
            b'K' => { let v = *input.get(pos).ok_or(E)?; pos += 1; expansion += 1; push!(N::Int(v.into())); }
            b'M' => { let b = input.get(pos..pos + 2).ok_or(E)?; pos += 2; expansion += 1; push!(N::Int(u16::from_le_bytes([b[0], b[1]]).into())); }
            b'J' => { let b = input.get(pos..pos + 4).ok_or(E)?; pos += 4; expansion += 1; push!(N::Int(i32::from_le_bytes(b.try_into().unwrap()).into())); }
            b'N' => push!(N::None),
            0x88 => push!(N::Bool(true)),
            0x89 => push!(N::Bool(false)),
            b'(' => { if nm >= marks.len() { return Err(E) } marks[nm] = sp as u8; nm += 1; }
            b's' | b'u' => {
                let from = if op == b's' { sp.checked_sub(2).ok_or(E)? } else { nm = nm.checked_sub(1).ok_or(E)?; marks[nm] as usize };
                let target = sp.checked_sub(1).filter(|_| from >= 1).ok_or(E)?;
                let t = stack[from - 1] as usize;
                let n = sp - from;
                if n % 2 != 0 { return Err(E) }
                let N::Dict(first, len) = a.nodes[t] else { return Err(E) };
                let _ = target;
                // contiguous only: a dict's items are its one batch (else: the slow path)
                if len != 0 && first as usize + len as usize != a.nitems { return Err(E) }
                let start = if len == 0 { a.nitems } else { first as usize };
                if a.nitems + n > a.items.len() { return Err(E) }
                let mut seen = 0u64;
                for k in 0..n {
                    let id = stack[from + k];
                    if k % 2 == 0 {
                        // key: hashable, and the distinct-key filter (length + last byte)
                        match a.nodes[id as usize] {
                            N::Str(s, l) => { let last = if l > 0 { input[(s + l - 1) as usize] } else { 0 };
                                let bit = 1u64 << ((l as usize + last as usize) & 63);
                                if seen & bit != 0 { return Err(E) } seen |= bit; }
                            N::Dict(..) => return Err(E),
                            _ => {}
                        }
                    }
                    a.items[a.nitems + k] = id;
                }
                a.nitems += n;
                a.nodes[t] = N::Dict(start as u16, len + n as u16);
                sp = from;
                if expansion > 1 << 24 { return Err(E) }
            }
            b'.' => { if sp != 1 || nm != 0 { return Err(E) } return Ok(stack[0]); }
            _ => return Err(E),
        }
    }
}

#[derive(Clone, Copy)]
struct D<'a, 't> { input: &'a [u8], a: &'t Arena, id: u16 }
impl<'a, 't> D<'a, 't> {
    fn node(self) -> N { self.a.nodes[self.id as usize] }
    fn span(self, s: u32, l: u32) -> Result<&'a [u8], E> { self.input.get(s as usize..(s + l) as usize).ok_or(E) }
}
struct M<'a, 't> { d: D<'a, 't>, at: usize, end: usize }
impl<'de, 't> MapAccess<'de> for M<'de, 't> {
    type Error = E;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, E> {
        if self.at >= self.end { return Ok(None) }
        let id = self.d.a.items[self.at]; self.at += 1;
        seed.deserialize(D { id, ..self.d }).map(Some)
    }
    fn next_value_seed<V2: DeserializeSeed<'de>>(&mut self, seed: V2) -> Result<V2::Value, E> {
        let id = *self.d.a.items.get(self.at).ok_or(E)?; self.at += 1;
        seed.deserialize(D { id, ..self.d })
    }
}
impl<'de, 't> Deserializer<'de> for D<'de, 't> {
    type Error = E;
    fn deserialize_any<Vi: Visitor<'de>>(self, v: Vi) -> Result<Vi::Value, E> {
        match self.node() {
            N::None => v.visit_unit(), N::Bool(b) => v.visit_bool(b), N::Int(i) => v.visit_i64(i),
            N::Str(s, l) => v.visit_borrowed_str(core::str::from_utf8(self.span(s, l)?).map_err(|_| E)?),
            N::Dict(f, l) => v.visit_map(M { d: self, at: f as usize, end: f as usize + l as usize }),
        }
    }
    fn deserialize_u32<Vi: Visitor<'de>>(self, v: Vi) -> Result<Vi::Value, E> {
        match self.node() { N::Int(i) => v.visit_u32(u32::try_from(i).map_err(|_| E)?), _ => Err(E) }
    }
    fn deserialize_str<Vi: Visitor<'de>>(self, v: Vi) -> Result<Vi::Value, E> {
        match self.node() { N::Str(s, l) => v.visit_borrowed_str(core::str::from_utf8(self.span(s, l)?).map_err(|_| E)?), _ => Err(E) }
    }
    fn deserialize_identifier<Vi: Visitor<'de>>(self, v: Vi) -> Result<Vi::Value, E> {
        match self.node() { N::Str(s, l) => v.visit_borrowed_bytes(self.span(s, l)?), _ => Err(E) }
    }
    fn deserialize_struct<Vi: Visitor<'de>>(self, _n: &'static str, _f: &'static [&'static str], v: Vi) -> Result<Vi::Value, E> {
        match self.node() { N::Dict(f, l) => v.visit_map(M { d: self, at: f as usize, end: f as usize + l as usize }), _ => Err(E) }
    }
    serde::forward_to_deserialize_any! { bool i8 i16 i32 i64 i128 u8 u16 u64 u128 f32 f64 char string bytes byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum ignored_any }
}

#[inline(never)]
fn from_slice<'a, T: Deserialize<'a>>(input: &'a [u8]) -> Result<T, E> {
    let mut a = Arena { nodes: [N::None; V], items: [0; 64], nitems: 0, nnodes: 0 };
    let root = run(input, &mut a)?;
    T::deserialize(D { input, a: &a, id: root })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let op = args.next().unwrap();
    let n: u32 = args.next().unwrap().parse().unwrap();
    assert_eq!(from_slice::<Hello>(CLIENTID).unwrap().clientid, 54321);
    let id = from_slice::<Identity>(IDENTITY).unwrap();
    assert_eq!((id.name, id.email, id.student_id, id.github_username), ("Jose Ortiz", "jose@sfsu.edu", 917654321, "jortiz"));
    for _ in 0..n {
        match op.as_str() {
            "p_cid" => { black_box(from_slice::<Hello>(black_box(CLIENTID)).unwrap()); }
            "p_id" => { black_box(from_slice::<Identity>(black_box(IDENTITY)).unwrap()); }
            _ => panic!(),
        }
    }
}
