//! The fast path for the common shapes: a scalar, or one dict, list or tuple of scalars, in the
//! binary protocols (1–5), as CPython writes them (`{'clientid': 54321}`, the identity dict, an
//! ack string).
//!
//! One tight pass writes the same arena nodes the general machine would. Anything else —
//! protocol-0 opcodes, nesting, memo reads, sets, globals, a dict key that is not a `str` or
//! that repeats, a memo index out of sequence, any error, any capacity reached — returns
//! `None`, and the caller runs the general machine on the same input, which then decides
//! (errors included). So a caller never sees a result the general machine would not give.

use super::arena::{
    leaf_weight, Container, ContainerKind, Edge, Id, Node, NodeId, Unhashable, NIL,
};
use crate::pickle::number;
use crate::pickle::opcodes::{le_u64, Opcode};
use crate::pickle::text::{self, BytesEncoding, TextEncoding};
use crate::pickle::value::Str;

/// A pickle decoded by the fast path.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Flat {
    /// The root node.
    pub(crate) root: NodeId,
    /// The pickle's length, up to and including STOP.
    pub(crate) len: usize,
    /// Arena nodes and edges used (from index 0).
    pub(crate) nodes: usize,
    pub(crate) edges: usize,
    /// Where the last FRAME ends (0 without FRAME): the general machine refuses the pickle
    /// if this lies beyond the end of the input it is given.
    pub(crate) frame_end: usize,
}

/// The general machine's limits the fast path must respect to give the same result.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Machine stack entries (values and MARKs).
    pub(crate) stack: usize,
    /// Memo slots.
    pub(crate) memo: usize,
    /// Validate UTF-8 strings (the `Value` path) or leave it to the reader (serde).
    pub(crate) check_utf8: bool,
}

/// Longest pickle the fast path takes, and most dict entries: bounds the machine's work
/// comparing keys (pairs × key bytes) far below its budget ([`MAX_EXPANSION`]), which the
/// fast path therefore never needs to count.
///
/// [`MAX_EXPANSION`]: super::MAX_EXPANSION
const MAX_LEN: usize = 1 << 16;
const MAX_ENTRIES: usize = 64;

/// Where a one-`str` pickle's text starts: after PROTO, FRAME, SHORT_BINUNICODE and their
/// arguments (widths from the opcode table).
const TEXT_AT: usize = 3 + Opcode::PROTO.width() + Opcode::FRAME.width() + STR_WIDTH;
const STR_WIDTH: usize = Opcode::SHORT_BINUNICODE.width();

/// The pickle at the start of `input` if it is one `str` as CPython 3.8+ writes it
/// (`pickle.dumps('...')`: PROTO 4 or 5, a FRAME of exactly the rest, SHORT_BINUNICODE,
/// MEMOIZE, STOP), and its length; the text is checked as the machine checks it. Needs no
/// arena: the machine would make one node, one stack entry and one memo slot.
pub(crate) fn one_str(input: &[u8]) -> Option<(Str<'_>, usize)> {
    let (head, rest) = input.split_at_checked(TEXT_AT)?;
    let (frame_at, str_at) = (1 + Opcode::PROTO.width(), TEXT_AT - STR_WIDTH - 1);
    let ([0x80, 4 | 5, ..], 0x95, 0x8c) = (head, head[frame_at], head[str_at]) else {
        return None;
    };
    let frame = le_u64(&head[frame_at + 1..str_at]);
    let n = usize::try_from(le_u64(&head[str_at + 1..])).ok()?;
    let (raw, [0x94, b'.', ..]) = (rest.get(..n)?, rest.get(n..)?) else {
        return None;
    };
    // The frame holds SHORT_BINUNICODE, its argument, MEMOIZE and STOP.
    let framed = (1 + STR_WIDTH + n + 2) as u64;
    if frame != framed || text::validate_text(raw, TextEncoding::Utf8).is_err() {
        return None;
    }
    let text = Str {
        raw,
        enc: TextEncoding::Utf8,
    };
    Some((text, TEXT_AT + n + 2))
}

/// The text of a pickle [`one_str`] accepted (not checked again).
pub(crate) fn one_str_text(pickle: &[u8]) -> Str<'_> {
    Str {
        raw: pickle
            .get(TEXT_AT..pickle.len().saturating_sub(2))
            .unwrap_or(&[]),
        enc: TextEncoding::Utf8,
    }
}

/// Decodes the pickle at the start of `input` into `nodes` and `edges` if it has a common
/// shape; `None` otherwise (then run the machine: what was written here is not used).
///
/// The machine's stack is tracked as what it can hold in these shapes: `[container] [MARK]
/// scalars...`, each part optional; the scalars are always the last nodes made, so moving them
/// into the container is appending their ids as edges.
pub(crate) fn decode(
    input: &[u8],
    nodes: &mut [Node],
    edges: &mut [Edge],
    limits: Limits,
) -> Option<Flat> {
    let mut r = Run {
        input,
        pos: 0,
        nodes,
        edges,
        n_nodes: 0,
        n_edges: 0,
        container: None,
        mark: false,
        scalars: 0,
        memo_len: 0,
        frame_end: 0,
        limits,
    };
    r.run()
}

struct Run<'i, 'a> {
    input: &'i [u8],
    pos: usize,
    nodes: &'a mut [Node],
    edges: &'a mut [Edge],
    n_nodes: usize,
    n_edges: usize,
    /// The one container allowed (the root to be), at the bottom of the stack.
    container: Option<(NodeId, ContainerKind)>,
    /// A MARK above the container (if any) and below the scalars.
    mark: bool,
    /// Scalars on top of the stack (the last `scalars` nodes made).
    scalars: usize,
    /// Memo slots filled (each at the next index, as CPython writes them).
    memo_len: usize,
    frame_end: usize,
    limits: Limits,
}

impl<'i> Run<'i, '_> {
    fn run(&mut self) -> Option<Flat> {
        loop {
            let byte = *self.input.get(self.pos)?;
            self.pos += 1;
            match byte {
                0x8c => {
                    let n = self.count::<{ Opcode::SHORT_BINUNICODE.width() }>()?;
                    self.text(n)?;
                }
                b'X' => {
                    let n = self.count::<{ Opcode::BINUNICODE.width() }>()?;
                    self.text(n)?;
                }
                0x94 => self.memoize(self.memo_len)?,
                b'q' => {
                    let index = self.count::<{ Opcode::BINPUT.width() }>()?;
                    self.memoize(index)?;
                }
                b'r' => {
                    let index = self.count::<{ Opcode::LONG_BINPUT.width() }>()?;
                    self.memoize(index)?;
                }
                b'K' => {
                    let v = self.le::<{ Opcode::BININT1.width() }>()?;
                    self.scalar(Node::Int(v as i64))?;
                }
                b'M' => {
                    let v = self.le::<{ Opcode::BININT2.width() }>()?;
                    self.scalar(Node::Int(v as i64))?;
                }
                b'J' => {
                    // Signed: the low 32 bits as an i32.
                    let v = self.le::<{ Opcode::BININT.width() }>()? as i32;
                    self.scalar(Node::Int(v.into()))?;
                }
                0x8a => {
                    let n = self.count::<{ Opcode::LONG1.width() }>()?;
                    let v = number::le_to_i64(self.take(n)?)?;
                    self.scalar(Node::Int(v))?;
                }
                b'G' => {
                    let b = self.take(Opcode::BINFLOAT.width())?;
                    let v = f64::from_be_bytes(b.try_into().ok()?);
                    self.scalar(Node::Float(v))?;
                }
                b'N' => self.scalar(Node::None)?,
                0x88 => self.scalar(Node::Bool(true))?,
                0x89 => self.scalar(Node::Bool(false))?,
                b'C' => {
                    let n = self.count::<{ Opcode::SHORT_BINBYTES.width() }>()?;
                    self.bytes(n, false)?;
                }
                b'B' => {
                    let n = self.count::<{ Opcode::BINBYTES.width() }>()?;
                    self.bytes(n, false)?;
                }
                0x8e => {
                    let n = self.count::<{ Opcode::BINBYTES8.width() }>()?;
                    self.bytes(n, false)?;
                }
                0x96 => {
                    let n = self.count::<{ Opcode::BYTEARRAY8.width() }>()?;
                    self.bytes(n, true)?;
                }
                0x8d => {
                    let n = self.count::<{ Opcode::BINUNICODE8.width() }>()?;
                    self.text(n)?;
                }
                b'}' => self.container(ContainerKind::Dict, 0)?,
                b']' => self.container(ContainerKind::List, 0)?,
                b')' => self.container(ContainerKind::Tuple, 0)?,
                0x85 => self.container(ContainerKind::Tuple, 1)?,
                0x86 => self.container(ContainerKind::Tuple, 2)?,
                0x87 => self.container(ContainerKind::Tuple, 3)?,
                b't' => {
                    // MARK items TUPLE, with nothing below the MARK.
                    if !self.mark {
                        return None;
                    }
                    self.mark = false;
                    self.container(ContainerKind::Tuple, self.scalars)?;
                }
                b'(' => {
                    if self.mark || self.scalars != 0 {
                        return None;
                    }
                    self.mark = true;
                    self.check_stack()?;
                }
                b's' => self.add(ContainerKind::Dict, false, 2)?,
                b'u' => self.add(ContainerKind::Dict, true, self.scalars)?,
                b'a' => self.add(ContainerKind::List, false, 1)?,
                b'e' => self.add(ContainerKind::List, true, self.scalars)?,
                0x80 => {
                    if self.le::<{ Opcode::PROTO.width() }>()? > 5 {
                        return None;
                    }
                }
                0x95 => {
                    let len = self.le::<{ Opcode::FRAME.width() }>()?;
                    // A frame beginning inside another: the machine refuses it.
                    if len > (self.input.len() - self.pos) as u64 || self.pos < self.frame_end {
                        return None;
                    }
                    self.frame_end = self.pos + len as usize;
                }
                b'.' => return self.stop(),
                _ => return None,
            }
        }
    }

    // ---- arguments ----

    /// The next `n` bytes; `None` past the input or across the current FRAME's end (which
    /// the machine refuses, as pickle.py does).
    fn take(&mut self, n: usize) -> Option<&'i [u8]> {
        if self.pos < self.frame_end && n > self.frame_end - self.pos {
            return None;
        }
        let bytes = self.input.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(bytes)
    }

    /// A little-endian unsigned argument `W` bytes wide (an opcode's table width).
    #[inline(always)]
    fn le<const W: usize>(&mut self) -> Option<u64> {
        Some(le_u64(self.take(W)?))
    }

    /// A length (or memo index) `W` bytes wide, as a `usize`.
    #[inline(always)]
    fn count<const W: usize>(&mut self) -> Option<usize> {
        usize::try_from(self.le::<W>()?).ok()
    }

    // ---- values ----

    /// A UTF-8 `str` of `n` bytes.
    fn text(&mut self, n: usize) -> Option<()> {
        let start = self.pos;
        let raw = self.take(n)?;
        if self.limits.check_utf8 && text::validate_text(raw, TextEncoding::Utf8).is_err() {
            return None;
        }
        self.scalar(Node::Str {
            start: start as u32,
            len: n as u32,
            enc: TextEncoding::Utf8,
        })
    }

    fn bytes(&mut self, n: usize, mutable: bool) -> Option<()> {
        let start = self.pos;
        self.take(n)?;
        self.scalar(Node::Bytes {
            start: start as u32,
            len: n as u32,
            enc: BytesEncoding::Raw,
            mutable,
        })
    }

    fn alloc(&mut self, node: Node) -> Option<NodeId> {
        let id = self.n_nodes;
        *self.nodes.get_mut(id)? = node;
        self.n_nodes += 1;
        NodeId::try_from(id).ok().filter(|&id| id != NIL)
    }

    fn scalar(&mut self, node: Node) -> Option<()> {
        self.alloc(node)?;
        self.scalars += 1;
        self.check_stack()
    }

    /// The machine's stack would not overflow.
    fn check_stack(&self) -> Option<()> {
        let depth = usize::from(self.container.is_some()) + usize::from(self.mark) + self.scalars;
        (depth <= self.limits.stack).then_some(())
    }

    /// MEMOIZE, BINPUT, LONG_BINPUT of the top of the stack, at the next memo index only.
    fn memoize(&mut self, index: usize) -> Option<()> {
        let top_is_value = self.scalars > 0 || (self.container.is_some() && !self.mark);
        if !top_is_value || index != self.memo_len || index >= self.limits.memo {
            return None;
        }
        self.memo_len += 1;
        Some(())
    }

    /// The container, made of the `items` scalars on the stack (which must be all of it).
    fn container(&mut self, kind: ContainerKind, items: usize) -> Option<()> {
        if self.container.is_some() || self.mark || self.scalars != items {
            return None;
        }
        let id = self.alloc(Node::Container(Container::empty(kind)))?;
        self.container = Some((id, kind));
        self.link(id as usize, items)?;
        self.check_stack()
    }

    /// SETITEM(S), APPEND(S): the top `items` scalars (above a MARK if `marked`) go into the
    /// container below them, which must be of kind `want`.
    fn add(&mut self, want: ContainerKind, marked: bool, items: usize) -> Option<()> {
        if self.mark != marked || self.scalars != items || self.container?.1 != want {
            return None;
        }
        if want == ContainerKind::Dict {
            if items % 2 != 0 {
                return None;
            }
            // Each key against the keys before it (in the dict or earlier in this batch).
            let first = self.n_nodes - items;
            for key in (first..self.n_nodes).step_by(2) {
                self.check_key(key)?;
            }
        }
        self.mark = false;
        self.link(self.n_nodes, items)
    }

    /// Appends nodes `end - items..end` (scalars) to the container's edges.
    fn link(&mut self, end: usize, items: usize) -> Option<()> {
        let slots = self
            .edges
            .get_mut(self.n_edges..self.n_edges.checked_add(items)?)?;
        for (slot, child) in slots.iter_mut().zip(end - items..end) {
            *slot = Edge {
                child: child as NodeId,
                next: NIL,
            };
        }
        self.n_edges += items;
        self.scalars = 0;
        Some(())
    }

    /// A dict key the fast path takes: a UTF-8 `str` equal to no key before it (equal
    /// `str`s are equal bytes). Keys are every other node from the container's first item.
    fn check_key(&self, key: usize) -> Option<()> {
        let raw = self.str_at(key)?;
        let (dict, _) = self.container?;
        let mut earlier = (dict as usize + 1..key).step_by(2);
        match earlier.any(|k| self.str_at(k).is_some_and(|other| other == raw)) {
            true => None,
            false => Some(()),
        }
    }

    /// The bytes of a UTF-8 `str` node.
    fn str_at(&self, id: usize) -> Option<&'i [u8]> {
        self.nodes.get(id)?.utf8(self.input)
    }

    /// STOP: the stack must hold exactly the root.
    fn stop(&mut self) -> Option<Flat> {
        // Small enough that the machine's work budget for merging keys cannot run out.
        if self.pos > MAX_LEN || self.n_edges > 2 * MAX_ENTRIES {
            return None;
        }
        let root = match self.container {
            Some((id, _)) if !self.mark && self.scalars == 0 => id,
            None if !self.mark && self.scalars == 1 => 0,
            _ => return None,
        };
        if let Some((id, _)) = self.container {
            let n = self.n_edges;
            let links = self.edges.get_mut(..n)?;
            for (i, edge) in links.iter_mut().enumerate() {
                edge.next = (i + 1) as Id;
            }
            if let Some(last) = links.last_mut() {
                last.next = NIL;
            }
            // The machine's bookkeeping for its items: expanded size, and for a tuple whether
            // it can be a key (a bytearray item makes it unhashable).
            let mut expansion = 1u32;
            let mut unhashable = Unhashable::No;
            for edge in self.edges.get(..n)? {
                let item = *self.nodes.get(edge.child as usize)?;
                expansion = expansion.saturating_add(leaf_weight(item));
                if let (Node::Bytes { mutable: true, .. }, Unhashable::No) = (item, unhashable) {
                    unhashable = Unhashable::ByteArray;
                }
            }
            let Some(Node::Container(c)) = self.nodes.get_mut(id as usize) else {
                return None;
            };
            c.expansion = expansion;
            if c.kind == ContainerKind::Tuple {
                c.unhashable = unhashable;
            }
            if n > 0 {
                c.first = 0;
                c.last = Id::try_from(n - 1).ok()?;
                c.len = Id::try_from(n).ok()?;
            }
        }
        Some(Flat {
            root,
            len: self.pos,
            nodes: self.n_nodes,
            edges: self.n_edges,
            frame_end: self.frame_end,
        })
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use crate::pickle::{Decoder, Value};
    use serde::Deserialize;
    use std::string::String;
    use std::vec::Vec;

    include!("../../../tests/common/fixtures.rs");

    /// Seeds: CPython's bytes for the shapes the fast path takes, and near misses.
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
        // A FRAME that claims more than the pickle holds.
        b"\x80\x04\x95\x40\x00\x00\x00\x00\x00\x00\x00K\x01.",
    ];

    /// Every truncation and many one-byte changes of each seed.
    fn corpus() -> Vec<Vec<u8>> {
        let bytes = b"\x00\x01\x02\x05\x7f\x80\xff.()]}tsuaeKMJNq\x94h\x8c\x95\x85\x86\x87\x88\x8aGXCB\xc3\xe9";
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

    fn outcome(r: Result<(Value<'_>, usize), crate::pickle::Error>) -> String {
        match r {
            Ok((v, len)) => std::format!("{v} ({len} bytes)"),
            Err(e) => std::format!("error: {e}"),
        }
    }

    /// Whenever the fast path answers, the general machine gives the same value.
    #[test]
    fn fast_path_agrees_with_the_machine() {
        let mut taken = 0;
        for input in corpus() {
            for check_utf8 in [true, false] {
                let mut fast: Decoder = Decoder::new();
                let mut machine: Decoder = Decoder::new();
                let Some(done) = fast.run_flat(&input, check_utf8) else {
                    continue;
                };
                taken += 1;
                let got = fast.tree(&input).value(done.root);
                let want = machine
                    .run(&input, check_utf8)
                    .map(|(root, len)| (machine.tree(&input).value(root), len));
                assert_eq!(
                    outcome(Ok((got, done.len))),
                    outcome(want),
                    "{input:x?} check_utf8 {check_utf8}"
                );
            }
        }
        let least = if cfg!(miri) { 10 } else { 500 };
        assert!(taken > least, "the fast path took only {taken} inputs");
    }

    /// `one_str` takes CPython's one-`str` pickle (the ack), and whenever it answers the
    /// general machine gives the same `str` and length.
    #[test]
    fn one_str_takes_the_ack_and_agrees_with_the_machine() {
        assert!(
            super::one_str(ACK).is_some(),
            "the ack went the general way"
        );
        let mut taken = 0;
        for input in corpus() {
            let Some((text, len)) = super::one_str(&input) else {
                continue;
            };
            taken += 1;
            assert_eq!(super::one_str_text(&input[..len]).raw, text.raw);
            let mut machine: Decoder = Decoder::new();
            let want = machine
                .run(&input, true)
                .map(|(root, len)| (machine.tree(&input).value(root), len));
            assert_eq!(
                outcome(Ok((Value::Str(text), len))),
                outcome(want),
                "{input:x?}"
            );
        }
        assert!(taken > 10, "one_str took only {taken} inputs");
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Identity<'a> {
        name: &'a str,
        email: Option<&'a str>,
        student_id: u32,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Hello {
        clientid: i64,
    }

    /// `from_slice` (fast path first) and the machine followed by the same serde code agree,
    /// on values and on errors.
    #[test]
    fn from_slice_agrees_with_the_machine() {
        fn check<'a, T: Deserialize<'a> + core::fmt::Debug>(
            machine: &'a mut Decoder,
            input: &'a [u8],
        ) {
            let fast = std::format!("{:?}", crate::pickle::from_slice::<T>(input));
            let slow = std::format!(
                "{:?}",
                crate::pickle::de::from_slice_by_machine::<T>(machine, input)
            );
            assert_eq!(fast, slow, "{input:x?} as {}", core::any::type_name::<T>());
        }
        let mut machine: Decoder = Decoder::new();
        let m = &mut machine;
        // Five target types per input: under Miri a tenth of its sample.
        for input in corpus()
            .into_iter()
            .step_by(if cfg!(miri) { 10 } else { 1 })
        {
            check::<Hello>(m, &input);
            check::<Identity<'_>>(m, &input);
            check::<std::collections::BTreeMap<String, Option<i32>>>(m, &input);
            check::<Vec<i64>>(m, &input);
            check::<(u8, String, Vec<u8>)>(m, &input);
            check::<&str>(m, &input);
            check::<serde::de::IgnoredAny>(m, &input);
        }
    }
}
