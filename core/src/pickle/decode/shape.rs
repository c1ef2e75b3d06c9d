//! The shape replay (feature `fast`): a stream of messages of one shape (a lab sensor's
//! readings, one kind of broadcast) decoded once, then each next message that has the same
//! shape taken over the arena as it is, no opcode dispatched.
//!
//! After the second of two messages in a row of one length decodes (a framed protocol 4+
//! pickle of at most [`SHAPE_BYTES`] of the inline arms' opcodes, into a fixed arena, UTF-8
//! checked, with no shared container, no merged key, no global, every dict key a str), its
//! shape is kept: per 8 bytes, the bits that must stay as they were (every opcode, length and
//! memo index, PROTO and FRAME, every dict key's text, and the high bit of every other str's
//! bytes) and their values, and where each number's argument is with its node. A message at
//! the head that matches decodes opcode by opcode exactly as the kept one did: the machine's
//! path depends on nothing else (a str passes its check when ASCII; the keys are the same
//! bytes, so as distinct as they were; the lengths, the nodes, the items, depth and expansion
//! are the same), and its value differs only in its numbers and its strs' text, which are
//! read from its own bytes (a str's node is its span). So the run restores the arena's
//! lengths and the frame's end as they were after the kept decode, reads the numbers again,
//! and returns the same root. Anything else runs the machine, which forgets the shape.

use super::arena::{Backing, ContainerKind, Id, Node};
use super::machine::op;
use super::{Arena, Storage};
use crate::pickle::text::TextEncoding;

/// The longest message whose shape is kept.
pub(super) const SHAPE_BYTES: usize = 128;
/// The most numbers a kept shape reads again.
const NUMBERS: usize = 8;

/// A kept shape's place (4 bytes in the decoder). What it holds lives in the node slots
/// just past the kept decode's nodes, which nothing reads and the next decode overwrites
/// (a decoder without room for them keeps no shape): at `nodes`, the root, the edges'
/// length and the count of numbers (packed in one `Node::Int`); then one `Node::Int` per
/// number (its node, its argument's offset, its opcode); then per 8 bytes of the message
/// (the last word ending at its end) two: the bits that must stay as they were (`keep`) and
/// their values (`want`).
pub(crate) struct Shape {
    /// The kept message's length (0: none: the arena holds no decode to reuse).
    pub(super) len: u8,
    /// The kept decode's node count, where the shape's slots start.
    nodes: u8,
    /// The length of the last message decoded (a shape is kept at the second of one length).
    last_len: u16,
}

impl Shape {
    pub(super) const NONE: Shape = Shape {
        len: 0,
        nodes: 0,
        last_len: 0,
    };
}

/// An `i64` kept in a node slot.
#[inline(always)]
fn int(node: &Node) -> Option<u64> {
    match *node {
        Node::Int(v) => Some(v as u64),
        _ => None,
    }
}

/// The run's start (from [`entry::enter`](super::entry::enter), the lengths just cleared): the
/// message at the start of `input` taken by the kept shape (its root and length), or `None`
/// with the shape forgotten (the machine is about to write the arena). A match is one AND,
/// XOR and OR per 8 bytes (a str byte's high bit is in `keep` and 0 in `want`, so a byte
/// that is not ASCII differs as a changed opcode does).
#[inline(always)]
pub(super) fn replay<A: Arena>(
    d: &mut Storage<A>,
    input: &[u8],
    check_utf8: bool,
) -> Option<(Id, usize)> {
    let (len, base) = (usize::from(d.shape.len), usize::from(d.shape.nodes));
    let taken = match input.get(..len) {
        Some(msg) if len != 0 && check_utf8 => matches(d.nodes.items.slots(), base, msg),
        _ => None,
    };
    let Some((root, edges, numbers)) = taken else {
        if !waits(input, len) {
            d.shape.len = 0;
        }
        return None;
    };
    d.nodes.len = base;
    d.edges.len = edges;
    d.frame_end = len;
    for i in base + 1..base + 1 + numbers {
        let number = d.nodes.slot(i).and_then(int).unwrap_or(0);
        let (id, at, byte) = (
            number & 0xffff,
            (number >> 16) & 0xffff,
            (number >> 32) as u8,
        );
        // Cannot fail: the argument is inside the message, as it was.
        let node = super::hot::leaf(byte, input, at as usize, true).map(|(node, _)| node);
        match (node, d.nodes.slot_mut(id as usize)) {
            (Some(node), Some(slot)) => *slot = node,
            _ => {
                d.shape.len = 0;
                return None;
            }
        }
    }
    Some((root, len))
}

/// Whether `input`, shorter than the kept message (`len`), is a start the machine refuses at
/// its PROTO or FRAME (truncated, or a protocol it does not read) without writing the arena:
/// the next message, not all in yet (the receive buffer's last one). The shape is kept for
/// it then.
#[inline(never)]
fn waits(input: &[u8], len: usize) -> bool {
    input.len() < len
        && match input {
            [] | [op::PROTO] | [op::PROTO, _] => true,
            [op::PROTO, _, op::FRAME, rest @ ..] => rest
                .first_chunk::<8>()
                .is_none_or(|n| u64::from_le_bytes(*n) > (input.len() - 11) as u64),
            _ => false,
        }
}

/// Whether `msg` matches the shape kept in `slots` from `base`: its root, the edges' length
/// and the count of numbers.
#[inline(always)]
fn matches(slots: &[Node], base: usize, msg: &[u8]) -> Option<(Id, usize, usize)> {
    let meta = slots.get(base).and_then(int)?;
    let numbers = (meta >> 32) as usize;
    let words = slots.get(base + 1 + numbers..)?;
    let (pairs, _) = words.as_chunks::<2>();
    let (chunks, _) = msg.as_chunks::<8>();
    let mut diff = 0u64;
    for (c, pair) in chunks.iter().zip(pairs) {
        let [Node::Int(keep), Node::Int(want)] = *pair else {
            return None;
        };
        diff |= (u64::from_le_bytes(*c) & keep as u64) ^ want as u64;
    }
    let [Node::Int(keep), Node::Int(want)] = *pairs.get(chunks.len())? else {
        return None;
    };
    let last = msg.last_chunk::<8>().map_or(!0, |c| u64::from_le_bytes(*c));
    diff |= (last & keep as u64) ^ want as u64;
    (diff == 0).then_some((
        (meta & 0xffff) as Id,
        ((meta >> 16) & 0xffff) as usize,
        numbers,
    ))
}

/// At a STOP of the machine that decoded `input[..len]` to `root` with no shared container,
/// no key merged and no memo hole (the caller checks those): remembers its length, and keeps
/// its shape if the last message had the same length and it qualifies (see the module).
#[inline(always)]
pub(super) fn stopped<A: Arena>(d: &mut Storage<A>, input: &[u8], root: Id, len: usize) {
    let last = core::mem::replace(&mut d.shape.last_len, len as u16);
    if usize::from(last) == len && len <= SHAPE_BYTES && !A::Nodes::GROWS {
        keep(d, input, root, len);
    }
}

/// What a byte of a kept message is: must stay, a str's text, a number's argument.
const STAYS: u8 = 0;
const TEXT: u8 = 1;
const NUMBER: u8 = 2;

/// Keeps the shape of `input[..len]`, just decoded to `root`, if it qualifies.
#[cold]
#[inline(never)]
fn keep<A: Arena>(d: &mut Storage<A>, input: &[u8], root: Id, len: usize) {
    d.shape.len = 0;
    let Some(code) = input.get(..len) else {
        return;
    };
    if d.globals_linked || d.frame_end != len || len < 12 {
        return;
    }
    let &[op::PROTO, _, op::FRAME, ..] = code else {
        return;
    };
    let mut kind = [STAYS; SHAPE_BYTES];
    let mut numbers = [(0 as Id, 0u16, 0u8); NUMBERS];
    let (mut n_numbers, mut node, mut p) = (0usize, 0usize, 11usize);
    loop {
        let Some(&byte) = code.get(p) else {
            return;
        };
        // (argument bytes, of which text, new node)
        let (arg, new) = match byte {
            op::SHORT_BINUNICODE | op::BINUNICODE => {
                let (w, n) = if byte == op::SHORT_BINUNICODE {
                    (1, code.get(p + 1).map(|&n| usize::from(n)))
                } else {
                    let n = code
                        .get(p + 1..p + 5)
                        .and_then(|b| <[u8; 4]>::try_from(b).ok());
                    (4, n.map(|b| u32::from_le_bytes(b) as usize))
                };
                let Some(n) = n else {
                    return;
                };
                let Some(text) = kind.get_mut(p + 1 + w..p + 1 + w + n) else {
                    return;
                };
                text.fill(TEXT);
                (w + n, true)
            }
            op::BININT1 | op::BININT2 | op::BININT | op::BINFLOAT => {
                let w = match byte {
                    op::BININT1 => 1,
                    op::BININT2 => 2,
                    op::BININT => 4,
                    _ => 8,
                };
                let (Some(arg), Some(slot)) =
                    (kind.get_mut(p + 1..p + 1 + w), numbers.get_mut(n_numbers))
                else {
                    return;
                };
                arg.fill(NUMBER);
                *slot = (node as Id, (p + 1) as u16, byte);
                n_numbers += 1;
                (w, true)
            }
            op::NONE
            | op::NEWTRUE
            | op::NEWFALSE
            | op::EMPTY_LIST
            | op::EMPTY_DICT
            | op::TUPLE2 => (0, true),
            op::MEMOIZE | op::MARK | op::APPEND | op::SETITEM | op::APPENDS | op::SETITEMS => {
                (0, false)
            }
            op::BINPUT | op::BINGET => (1, false),
            op::STOP if p + 1 == len => break,
            _ => return,
        };
        node += usize::from(new);
        p += 1 + arg;
    }
    // Every opcode made the node the walk counted (so each number's node is the one read),
    // and each of those is a number.
    if node != d.nodes.len {
        return;
    }
    for &(id, _, _) in numbers.get(..n_numbers).unwrap_or_default() {
        if !matches!(
            d.nodes.get(id as usize),
            Some(Node::Int(_) | Node::Float(_))
        ) {
            return;
        }
    }
    // Every dict's keys stay, and are strs.
    for &n in d.nodes.iter() {
        let Node::Container(c) = n else {
            continue;
        };
        if c.kind != ContainerKind::Dict {
            continue;
        }
        let mut e = c.first;
        for i in 0..c.len {
            let Some(&edge) = d.edges.get(e as usize) else {
                return;
            };
            if i % 2 == 0 {
                let Some(&Node::Str {
                    start,
                    len: n,
                    enc: TextEncoding::Utf8,
                    ..
                }) = d.nodes.get(edge.child as usize)
                else {
                    return;
                };
                let Some(text) = kind.get_mut(start as usize..(start + n) as usize) else {
                    return;
                };
                text.fill(STAYS);
            }
            e = edge.next(e);
        }
    }
    let word = |at: usize| {
        let (mut keep, mut want) = (0u64, 0u64);
        for b in 0..8 {
            let byte = u64::from(code.get(at + b).copied().unwrap_or(0));
            match kind.get(at + b) {
                Some(&STAYS) => {
                    keep |= 0xff << (8 * b);
                    want |= byte << (8 * b);
                }
                Some(&TEXT) => keep |= 0x80 << (8 * b),
                _ => {}
            }
        }
        [Node::Int(keep as i64), Node::Int(want as i64)]
    };
    // The slots past the nodes: room for the meta, the numbers and the words.
    let base = d.nodes.len;
    let need = 1 + n_numbers + 2 * (len / 8 + 1);
    let (Ok(nodes), Some(slots)) = (
        u8::try_from(base),
        d.nodes.items.slots_mut().get_mut(base..base + need),
    ) else {
        return;
    };
    let (Some((meta, rest)), Ok(short)) = (slots.split_first_mut(), u8::try_from(len)) else {
        return;
    };
    let edges = d.edges.len as u64;
    *meta = Node::Int((u64::from(root) | edges << 16 | (n_numbers as u64) << 32) as i64);
    let (number_slots, words) = rest.split_at_mut(n_numbers);
    for (slot, &(id, at, byte)) in number_slots.iter_mut().zip(&numbers) {
        *slot = Node::Int((u64::from(id) | u64::from(at) << 16 | u64::from(byte) << 32) as i64);
    }
    let (pairs, _) = words.as_chunks_mut::<2>();
    for (i, pair) in pairs.iter_mut().enumerate().take(len / 8) {
        *pair = word(8 * i);
    }
    if let Some(pair) = pairs.get_mut(len / 8) {
        *pair = word(len - 8);
    }
    d.shape.nodes = nodes;
    d.shape.len = short;
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::super::Decoder;
    use std::{format, string::String, vec::Vec};

    /// The lab's reading (`bench/run`'s dict, CPython 3.11's protocol 4 pickle of it).
    const READING: &[u8] = b"\x80\x04\x95\x60\x00\x00\x00\x00\x00\x00\x00\x7d\x94\x28\x8c\x06\x73\x65\x6e\x73\x6f\x72\x94\x8c\x0c\x67\x72\x65\x65\x6e\x68\x6f\x75\x73\x65\x2d\x37\x94\x8c\x03\x73\x65\x71\x94\x4a\x40\xe2\x01\x00\x8c\x0b\x74\x65\x6d\x70\x65\x72\x61\x74\x75\x72\x65\x94\x47\x40\x35\x80\x00\x00\x00\x00\x00\x8c\x02\x6f\x6b\x94\x88\x8c\x04\x74\x61\x67\x73\x94\x8c\x05\x6e\x6f\x72\x74\x68\x94\x8c\x07\x73\x68\x65\x6c\x66\x2d\x32\x94\x86\x94\x75\x2e";
    /// `{1: 'a', 2: 'bc', 'k': [1.5, None, False]}`: int keys (they decide merging: no
    /// shape is kept).
    const INT_KEYS: &[u8] = b"\x80\x04\x95\x25\x00\x00\x00\x00\x00\x00\x00\x7d\x94\x28\x4b\x01\x8c\x01\x61\x94\x4b\x02\x8c\x02\x62\x63\x94\x8c\x01\x6b\x94\x5d\x94\x28\x47\x3f\xf8\x00\x00\x00\x00\x00\x00\x4e\x89\x65\x75\x2e";

    fn decoded(d: &mut Decoder, input: &[u8]) -> String {
        format!("{:?}", d.decode_prefix(input))
    }

    /// Every single-byte change of each pickle, decoded by a decoder that kept the pickle's
    /// shape (it decoded it twice) and by a fresh one: the same value or error, and the
    /// pickle itself again after it. Returns how many changes the shape took. Under Miri,
    /// every seventh byte changed to 0, 0x80 and its own value: each change costs a fresh
    /// 27 KiB `Decoder` and five decodes, and all of them took the CI's Miri past its time.
    fn every_change_decodes_as_fresh(pickle: &[u8]) -> usize {
        let mut warm: Decoder = Decoder::new();
        let mut replayed = 0;
        for (i, &own) in pickle.iter().enumerate() {
            if cfg!(miri) && i % 7 != 0 {
                continue;
            }
            let sample = |b: &u8| !cfg!(miri) || matches!(*b, 0 | 0x80) || *b == own;
            for b in (0..=255u8).filter(sample) {
                let mut m = Vec::from(pickle);
                m[i] = b;
                let mut fresh: Decoder = Decoder::new();
                let want = decoded(&mut fresh, &m);
                for _ in 0..2 {
                    assert!(warm.decode(pickle).is_ok());
                }
                let (len, base) = (
                    usize::from(warm.store.shape.len),
                    usize::from(warm.store.shape.nodes),
                );
                let slots = warm.store.nodes.items.as_slice();
                if len != 0 && super::matches(slots, base, m.get(..len).unwrap_or(&m)).is_some() {
                    replayed += 1;
                }
                assert_eq!(decoded(&mut warm, &m), want, "byte {i} = {b:#04x}");
                let again = decoded(&mut fresh, pickle);
                assert_eq!(
                    decoded(&mut warm, pickle),
                    again,
                    "after byte {i} = {b:#04x}"
                );
            }
        }
        replayed
    }

    /// The start of the next reading, not all in yet (the receive buffer's last message),
    /// leaves the shape kept; the whole reading then takes it; a start the machine decodes
    /// further forgets it.
    #[test]
    fn a_reading_not_all_in_keeps_the_shape() {
        let mut d: Decoder = Decoder::new();
        for _ in 0..2 {
            assert!(d.decode(READING).is_ok());
        }
        for cut in 0..READING.len() {
            let fresh = decoded(&mut Decoder::new(), &READING[..cut]);
            assert_eq!(decoded(&mut d, &READING[..cut]), fresh, "cut {cut}");
            assert_eq!(d.store.shape.len, 107, "cut {cut}");
            assert_eq!(
                decoded(&mut d, READING),
                decoded(&mut Decoder::new(), READING)
            );
        }
        assert!(d.decode(b"\x80\x04N.").is_ok());
        assert_eq!(d.store.shape.len, 0);
    }

    #[test]
    fn a_kept_shape_decodes_every_change_as_a_fresh_decoder() {
        let replayed = every_change_decodes_as_fresh(READING);
        // The numbers' 12 bytes take any value, the non-key strs' 24 bytes any ASCII byte,
        // every other byte only its own (Miri tries a sample, not every change).
        if !cfg!(miri) {
            assert_eq!(replayed, (107 - 12 - 24) + 12 * 256 + 24 * 128, "replayed");
        }
        assert_eq!(every_change_decodes_as_fresh(INT_KEYS), 0);
    }
}
