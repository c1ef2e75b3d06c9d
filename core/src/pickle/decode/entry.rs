//! The machine's entry (feature `fast`), before the machine is built: the opening PROTO and
//! FRAME of a protocol 4+ pickle read at once, and a pickle that is one str (the lab's ack)
//! decoded without the loop; the session's batch path hands such a str out from its bytes
//! ([`Decoder::hand_out_head`]). Anything else goes on in the machine (`machine.rs`, its
//! inline arms in `hot.rs`) from where the entry stopped.

use crate::pickle::text::{self, TextEncoding};
#[cfg(feature = "fast")]
use crate::pickle::value::{Str, Value};

use super::arena::{text_words, Id, Node, NIL};
use super::hot::{frame, str_raw};
use super::machine::{op, Hot};
#[cfg(feature = "fast")]
use super::Decoder;
use super::{Arena, Storage};

/// A decoded pickle's root as the machine's entry gives it: a node, or (only from
/// `enter::<false>` and [`ack`]) the text of the one str it took, no node written, the pickle
/// within its own bytes (no FRAME past its STOP).
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "fast"), allow(dead_code))]
pub(super) enum Root<'i> {
    Node(Id),
    Str(&'i [u8]),
}

impl Root<'_> {
    /// The root node: `NIL` for a `Str`, which only `enter::<false>` and [`ack`] make (their
    /// callers never ask for a node).
    #[inline(always)]
    pub(super) fn node(self) -> Id {
        match self {
            Root::Node(id) => id,
            Root::Str(_) => NIL,
        }
    }
}

/// The machine's entry (feature `fast`), before the machine is built: the opening PROTO
/// and FRAME of a protocol 4+ pickle read at once (their 11 bytes in one bounds check when
/// they are there), and a pickle that is then one str and STOP, with or without a MEMOIZE
/// between (the lab's ack, `pickle.dumps('...')`), decoded at once: `Ok` with its root and
/// length, the root its node (`NODE`) or its text (not `NODE`: nothing written but the
/// frame's end; the caller hands the str out from its bytes; a FRAME past the STOP is left
/// to the machine then). The stack and memo entries the loop would make are unobservable
/// once it stops; their capacities, and the node's, are checked as the loop would meet them.
/// Anything else is `Err` with the loop's hot state and the protocol read (the FRAME, if
/// read, is in `d`): the machine runs from there.
#[inline(always)]
pub(super) fn enter<'i, const NODE: bool, A: Arena>(
    d: &mut Storage<A>,
    input: &'i [u8],
    check_utf8: bool,
) -> Result<(Root<'i>, usize), (Hot<'i>, u8)> {
    // A message of the last one's shape: the arena as it is (`shape.rs`).
    #[cfg(feature = "fast")]
    if d.shape.len != 0 {
        if let Some((root, len)) = super::shape::replay(d, input, check_utf8) {
            return Ok((Root::Node(root), len));
        }
    }
    let mut h = Hot {
        pos: 0,
        window: input,
    };
    let mut proto = 0;
    if let Some(&[op::PROTO, version @ 0..=5, op::FRAME, l0, l1, l2, l3, l4, l5, l6, l7]) =
        input.first_chunk::<11>()
    {
        // The FRAME of a protocol 4+ pickle, all in (`frame`'s checks; `head`'s reading,
        // spelled out here: the same checks, and fewer instructions where `enter` is inlined).
        proto = version;
        let len = u64::from_le_bytes([l0, l1, l2, l3, l4, l5, l6, l7]);
        match usize::try_from(len) {
            Ok(len) if len <= input.len() - 11 && 11 >= d.frame_end => {
                let code = input.get(..11 + len).unwrap_or(input);
                d.frame_end = code.len();
                h.window = code;
                h.pos = 11;
                // The ack: a frame of exactly one SHORT_BINUNICODE, maybe its MEMOIZE, and
                // STOP (the general `one_str` below takes the other one-str pickles).
                let nodes = d.nodes.len;
                if let Some(done) = framed_str::<NODE, A>(d, code, check_utf8, nodes) {
                    return Ok(done);
                }
            }
            _ => h.pos = 2,
        }
    } else if let Some(&[op::PROTO, version @ 0..=5, op::FRAME]) = input.get(..3) {
        proto = version;
        h.pos = 3;
        if !frame(d, input, &mut h) {
            h.pos = 2;
        }
    }
    let root = match input.get(h.pos) {
        Some(&op::SHORT_BINUNICODE) => one_str::<1, NODE, A>(d, input, &h, check_utf8),
        Some(&op::BINUNICODE) => one_str::<4, NODE, A>(d, input, &h, check_utf8),
        _ => None,
    };
    root.ok_or((h, proto))
}

/// PROTO (0-5) and FRAME at the start of `input`, read at once: the protocol, and the
/// pickle's bytes up to the FRAME's end if it is all in.
#[cfg(feature = "fast")]
#[inline(always)]
fn head(input: &[u8]) -> Option<(u8, Option<&[u8]>)> {
    let &[op::PROTO, version @ 0..=5, op::FRAME, l0, l1, l2, l3, l4, l5, l6, l7] =
        input.first_chunk::<11>()?
    else {
        return None;
    };
    let len = u64::from_le_bytes([l0, l1, l2, l3, l4, l5, l6, l7]);
    let code = match usize::try_from(len) {
        Ok(len) if len <= input.len() - 11 => input.get(..11 + len),
        _ => None,
    };
    Some((version, code))
}

/// The session's batch path's ack (not `NODE`, with `fast`, no shape kept): [`enter`]'s
/// `framed_str` before the storage is emptied. Nothing is read from it but capacities, and
/// nothing written but the frame's end: its lengths stay as the last run left them (the next
/// run empties them; nothing reads them before). What `enter::<false>` gives after the reset,
/// or `None` (then the run goes on as always: the reset, then `enter`).
#[cfg(feature = "fast")]
#[inline(always)]
pub(super) fn ack<'i, A: Arena>(
    d: &mut Storage<A>,
    input: &'i [u8],
    check_utf8: bool,
) -> Option<(Root<'i>, usize)> {
    if d.shape.len != 0 {
        return None;
    }
    let (_, Some(code)) = head(input)? else {
        return None;
    };
    // After the reset the nodes are empty: one fits if there is a slot.
    let done = framed_str::<false, A>(d, code, check_utf8, 0)?;
    d.frame_end = code.len();
    Some(done)
}

/// [`enter`]'s ack: the pickle's bytes to its FRAME's end, `code` (read: its opcodes start
/// at 11), are one SHORT_BINUNICODE, maybe a MEMOIZE, and STOP, the frame's last byte. What
/// [`one_str`] gives for it, with the opcode, length and STOP read at fixed places. `nodes`:
/// the nodes' length (0 after the reset).
#[inline(always)]
fn framed_str<'i, const NODE: bool, A: Arena>(
    d: &mut Storage<A>,
    code: &'i [u8],
    check_utf8: bool,
    nodes: usize,
) -> Option<(Root<'i>, usize)> {
    let end = code.len();
    let &[op::SHORT_BINUNICODE, n] = code.get(11..13)? else {
        return None;
    };
    let n = usize::from(n);
    match end.checked_sub(13 + n)? {
        1 if code.last() == Some(&op::STOP) => {}
        2 if code.last_chunk() == Some(&[op::MEMOIZE, op::STOP]) && d.memo.capacity() > 0 => {}
        _ => return None,
    }
    if d.stack.capacity() == 0 || !text_ok(code, 13, n, check_utf8) {
        return None;
    }
    root_str::<NODE, A>(d, code, 13, n, nodes).map(|root| (root, end))
}

/// The root of a one-str pickle whose text is `len` bytes at `start`: its node pushed
/// (`NODE`), or its text once a node would fit after `nodes` nodes. `None` if it would not.
#[inline(always)]
fn root_str<'i, const NODE: bool, A: Arena>(
    d: &mut Storage<A>,
    input: &'i [u8],
    start: usize,
    len: usize,
    nodes: usize,
) -> Option<Root<'i>> {
    if !NODE {
        // `push_id`'s test, nothing pushed.
        if nodes >= d.nodes.room().min(NIL as usize) {
            return None;
        }
        return input.get(start..start + len).map(Root::Str);
    }
    let node = Node::Str {
        start: start as u32,
        len: len as u32,
        enc: TextEncoding::Utf8,
        key: 0,
    };
    d.nodes.push_id(node).ok().map(Root::Node)
}

#[cfg(feature = "fast")]
impl<const V: usize, const I: usize, const S: usize, const M: usize> Decoder<V, I, S, M> {
    /// The pickle at the start of `input` decoded (UTF-8 checked) and handed to `on` as
    /// the session's batch path wants it: if it is complete, valid and within its own bytes
    /// (a FRAME reaching past its STOP is left to the framed path); its length, or `None`
    /// (nothing handed out). The value is `decode_prefix`'s; a one-str pickle the machine's
    /// entry takes (the ack) is handed out from its bytes: no node written and read back, no
    /// view of the arena built, `on` called with the str alone (its own call, so the value
    /// passed is built as a str only).
    #[inline(always)]
    pub(crate) fn hand_out_head<F: FnMut(Value<'_>)>(
        &mut self,
        input: &[u8],
        on: &mut F,
    ) -> Option<usize> {
        let (id, len) = match self.store.start::<false>(input, true) {
            Ok((Root::Str(raw), len)) => {
                on(Value::Str(Str {
                    raw,
                    enc: TextEncoding::Utf8,
                }));
                return Some(len);
            }
            Ok((Root::Node(id), len)) => (id, len),
            Err((h, proto)) => self.head_machine(input, h, proto)?,
        };
        if self.store.frame_end > len {
            return None;
        }
        on(self.store.tree(input.get(..len)?).value(id));
        Some(len)
    }

    /// The head of the session's receive buffer decoded (UTF-8 checked): its root and length
    /// if it is complete, valid and within its own bytes, else `None` (what `run` gives, its
    /// refusals dropped: see [`head_machine`](Self::head_machine)).
    #[inline(always)]
    pub(crate) fn decode_head_root(&mut self, input: &[u8]) -> Option<(Id, usize)> {
        let (root, len) = match self.store.start::<true>(input, true) {
            Ok((root, len)) => (root.node(), len),
            Err((h, proto)) => self.head_machine(input, h, proto)?,
        };
        (self.store.frame_end <= len).then_some((root, len))
    }

    /// The machine from where the entry stopped, for a caller that drops its refusals: the
    /// machine is not built where it would refuse at once (`None`, as its refusal gives): no
    /// bytes (the receive buffer emptied by the last message: once per read that ends with a
    /// message), or a pickle whose first FRAME is not all in (the buffer's last message, once
    /// per read that ends inside one), refused at that FRAME (`framing`: its length past the
    /// input's end, or itself cut). The entry stops at such a FRAME (`h` at 2).
    #[inline(always)]
    fn head_machine(&mut self, input: &[u8], h: Hot<'_>, proto: u8) -> Option<(Id, usize)> {
        if input.is_empty() || (h.pos == 2 && frame_not_in(input)) {
            return None;
        }
        self.store
            .machine(input, h, proto, true, super::MAX_EXPANSION)
            .ok()
    }
}

/// Whether `input` starts with PROTO (0-5) and a FRAME that is not all in (its 8-byte length
/// cut, or more than the bytes after it).
#[cfg(feature = "fast")]
#[inline(always)]
fn frame_not_in(input: &[u8]) -> bool {
    let [op::PROTO, 0..=5, op::FRAME, rest @ ..] = input else {
        return false;
    };
    rest.first_chunk::<8>()
        .is_none_or(|len| u64::from_le_bytes(*len) > (rest.len() - 8) as u64)
}

/// [`enter`]'s one str, its opcode at `h.pos` and its length taking `W` bytes: where the
/// pickle stops is checked before the text is. Its node has no key slot (a root is no key).
#[inline(always)]
fn one_str<'i, const W: usize, const NODE: bool, A: Arena>(
    d: &mut Storage<A>,
    input: &'i [u8],
    h: &Hot<'_>,
    check_utf8: bool,
) -> Option<(Root<'i>, usize)> {
    let arg = h.pos + 1;
    let raw = str_raw::<W>(h.window, arg)?;
    let end = arg + W + raw.len();
    let len = match input.get(end..)? {
        [op::STOP, ..] => end + 1,
        [op::MEMOIZE, op::STOP, ..] if d.memo.capacity() > 0 => end + 2,
        _ => return None,
    };
    // Not `NODE`: only a pickle within its own bytes (else the machine's result is refused).
    if d.stack.capacity() == 0
        || (!NODE && d.frame_end > len)
        || !text_ok(input, arg + W, raw.len(), check_utf8)
    {
        return None;
    }
    let nodes = d.nodes.len;
    root_str::<NODE, A>(d, input, arg + W, raw.len(), nodes).map(|root| (root, len))
}

/// Whether the `n` bytes at `start` of `input` (in bounds: the caller has checked) are a
/// str's text as the machine reads it: UTF-8, or anything when not `check_utf8` (the serde
/// path checks each str it reads). ASCII by 8-byte words without a loop up to 32 bytes (1 to
/// 8 bytes: one word of `input` from `start` with the bytes past the text shifted out, when
/// 8 bytes are there; 9 to 16 two words, 17 to 32 four, overlapping), longer texts by
/// [`ascii`]'s words; a text that is not ASCII by the general check.
#[inline(always)]
fn text_ok(input: &[u8], start: usize, n: usize, check_utf8: bool) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    if !check_utf8 {
        return true;
    }
    let raw = input.get(start..start + n).unwrap_or(&[]);
    let word = |s: &[u8], at: usize| {
        s.get(at..at + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(HIGH, u64::from_le_bytes)
    };
    let high = match n {
        0 => 0,
        1..=8 => match input.get(start..start + 8) {
            Some(_) => word(input, start) << (64 - 8 * n as u32),
            None => u64::from(!raw.is_ascii()) << 7,
        },
        9..=16 => word(raw, 0) | word(raw, n - 8),
        17..=32 => word(raw, 0) | word(raw, 8) | word(raw, n - 16) | word(raw, n - 8),
        _ => u64::from(!long_ascii(raw)) << 7,
    };
    high & HIGH == 0 || text::validate_text(raw, TextEncoding::Utf8).is_ok()
}

/// Whether `raw` (longer than 32 bytes) is ASCII: 256 bytes at a time from 256 bytes on, 64
/// from 64 ([`steps_ascii`]), a shorter text by [`ascii`]'s words.
#[inline(always)]
fn long_ascii(raw: &[u8]) -> bool {
    steps_ascii::<256>(raw)
        .or_else(|| steps_ascii::<64>(raw))
        .unwrap_or_else(|| ascii(raw))
}

/// Whether `raw` is ASCII, `STEP` bytes at a time, their words ORed with no branch but the
/// loop's (a 4 KiB str: 16 steps of 256), then its last `STEP` bytes (overlapping); `None`
/// for a text shorter than a step.
#[inline(always)]
fn steps_ascii<const STEP: usize>(raw: &[u8]) -> Option<bool> {
    let fold = |c: &[u8; STEP]| {
        let (words, _) = c.as_chunks::<8>();
        words
            .iter()
            .fold(0, |high, w| high | u64::from_ne_bytes(*w))
    };
    let last = raw.last_chunk::<STEP>()?;
    let (steps, _) = raw.as_chunks::<STEP>();
    let high = steps.iter().fold(fold(last), |high, c| high | fold(c));
    Some(high & 0x8080_8080_8080_8080 == 0)
}

/// Whether `raw` is ASCII (valid UTF-8 as it stands), by words ([`text_words`]), so a short
/// str takes no byte loop: the short keys and strings of the common messages skip the
/// general check's call.
#[inline(always)]
fn ascii(raw: &[u8]) -> bool {
    text_words(raw).ascii
}

#[cfg(all(test, feature = "fast"))]
mod tests {
    extern crate std;
    use super::super::fault::Record;
    use super::super::machine::{Hot, Machine, MARKS};
    use super::super::{Decoder, MAX_EXPANSION};
    use std::{format, string::String, vec::Vec};

    /// `ascii` agrees with `<[u8]>::is_ascii` for every length up to 40 with one non-ASCII
    /// byte at each position (its overlapping reads must cover every byte); so does
    /// `text_ok` at every start in a longer input (its one-word read for 1 to 8 bytes takes
    /// bytes past the text, shifted out), and `long_ascii` at lengths around its steps.
    #[test]
    fn ascii_checks_every_byte() {
        for n in 0..40 {
            let mut raw = [b'a'; 40];
            assert!(super::ascii(&raw[..n]));
            for at in 0..n {
                raw[at] = 0xc3;
                assert!(!super::ascii(&raw[..n]), "length {n}, byte {at}");
                raw[at] = b'a';
            }
        }
        // Long texts (`long_ascii`): one bad byte at each place, lengths around the steps.
        let long = [33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 300, 4070];
        for n in long.into_iter().filter(|n| !cfg!(miri) || *n < 130) {
            let mut raw = std::vec![b'a'; n];
            assert!(super::long_ascii(&raw));
            for at in (0..n).filter(|at| !cfg!(miri) || at % 5 == 0 || at + 1 == n) {
                raw[at] = 0x80;
                assert!(!super::long_ascii(&raw), "length {n}, byte {at}");
                raw[at] = b'a';
            }
        }
        // Under Miri every third length, at one start.
        for n in (0..40).filter(|n| !cfg!(miri) || n % 3 == 0) {
            for start in [3, 0, 48 - n]
                .into_iter()
                .take(if cfg!(miri) { 1 } else { 3 })
            {
                for at in start..start + n {
                    let mut input = [0xffu8; 48];
                    input[start..start + n].fill(b'a');
                    assert!(super::text_ok(&input, start, n, true), "{n} at {start}");
                    input[at] = 0xff;
                    assert!(!super::text_ok(&input, start, n, true), "{n}, byte {at}");
                    // A two-byte character's first byte alone, then the character.
                    input[at] = 0xc3;
                    assert!(!super::text_ok(&input, start, n, true), "{n}, {at}");
                    if at + 1 < start + n {
                        input[at + 1] = 0xa9;
                        assert!(super::text_ok(&input, start, n, true), "{n}, é at {at}");
                    }
                }
            }
        }
    }

    /// The machine alone over `input`, no entry (what the entry must give, read as the
    /// general path reads it): the root and length, or the error; `frame_end` after it.
    fn machine_only(d: &mut Decoder, input: &[u8]) -> (String, usize) {
        let s = &mut d.store;
        s.nodes.clear();
        s.edges.clear();
        s.stack.clear();
        s.memo.clear();
        s.frame_end = 0;
        s.globals_linked = false;
        s.shape.len = 0;
        let run = Machine {
            d: &mut *s,
            input,
            pos: 0,
            shared: false,
            keyed: 0,
            proto: 0,
            holes: 0,
            check_utf8: true,
            expansion: MAX_EXPANSION,
            open: 0,
            marks: [0; MARKS],
            fault: Record::new(),
        }
        .run(Hot {
            pos: 0,
            window: input,
        });
        let frame_end = d.store.frame_end;
        let text = match run {
            Ok((root, len)) => format!("{:?}", Ok::<_, ()>((d.tree(input).value(root), len))),
            Err(e) => format!("{:?}", Err::<(), _>(e)),
        };
        (text, frame_end)
    }

    /// `input` through the entry both ways (`decode_prefix`, a node written; the batch
    /// path's `hand_out_head`, the str handed out from its bytes) and through the machine
    /// alone: the same value and length, or the same error; `hand_out_head` and the session's
    /// `decode_head_root` give exactly what `decode_prefix` gives when the pickle is within
    /// its own bytes (else nothing: a cut, a FRAME not all in, no bytes), once.
    fn same(d: [&mut Decoder; 3], input: &[u8]) {
        let [general, node, span] = d;
        let (want, frame_end) = machine_only(general, input);
        let got = node
            .decode_prefix(input)
            .map(|(v, len)| (format!("{v:?}"), len));
        let got_text = match &got {
            Ok((v, len)) => format!("Ok(({v}, {len}))"),
            Err(e) => format!("{:?}", Err::<(), _>(e)),
        };
        assert_eq!(got_text, want, "{input:x?}");
        let mut handed = Vec::new();
        let len = span.hand_out_head(input, &mut |v| handed.push(format!("{v:?}")));
        let whole = got.ok().filter(|&(_, len)| frame_end <= len);
        assert_eq!(len, whole.as_ref().map(|w| w.1), "{input:x?}");
        // The session's `decode_head` (`next_event`'s path): the same, by its root.
        let head = node.decode_head_root(input);
        let head = head.map(|(root, len)| (format!("{:?}", node.tree(input).value(root)), len));
        assert_eq!(head, whole, "{input:x?}");
        assert_eq!(handed, whole.map(|w| w.0).into_iter().collect::<Vec<_>>());
    }

    /// A one-str pickle: protocol `proto` (a FRAME from 4 on, its length `frame` more than
    /// its opcodes'), the str by `op` (SHORT_BINUNICODE or BINUNICODE), maybe a MEMOIZE.
    fn one_str(text: &[u8], op: u8, memo: bool, proto: u8, frame: i64) -> Vec<u8> {
        let mut code = std::vec![op];
        if op == super::op::SHORT_BINUNICODE {
            code.push(text.len() as u8);
        } else {
            code.extend_from_slice(&(text.len() as u32).to_le_bytes());
        }
        code.extend_from_slice(text);
        if memo {
            code.push(super::op::MEMOIZE);
        }
        code.push(super::op::STOP);
        let mut p = std::vec![super::op::PROTO, proto];
        if proto >= 4 {
            p.push(super::op::FRAME);
            p.extend_from_slice(&((code.len() as i64 + frame) as u64).to_le_bytes());
        }
        p.extend(code);
        p
    }

    /// Every one-str pickle shape the entry reads (texts of 0 to 40 bytes, ASCII, UTF-8 and
    /// not, with and without MEMOIZE, each str opcode, frames short, exact and long, no
    /// frame), alone and followed by another message: the entry gives what the machine gives.
    #[test]
    fn the_entry_gives_what_the_machine_gives() {
        let mut d: [Decoder; 3] = [Decoder::new(), Decoder::new(), Decoder::new()];
        let [a, b, c] = &mut d;
        let next = one_str(b"next", super::op::SHORT_BINUNICODE, true, 4, 0);
        let texts: Vec<Vec<u8>> = (0..=40usize)
            .filter(|n| !cfg!(miri) || n % 16 == 1)
            .flat_map(|n| {
                let ascii: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
                let mut utf8 = ascii.clone();
                let mut bad = ascii.clone();
                if n >= 2 {
                    utf8[n - 2..].copy_from_slice("é".as_bytes());
                    bad[n / 2] = 0xff;
                }
                [ascii, utf8, bad]
            })
            .collect();
        // Under Miri fewer: texts of 1, 17 and 33 bytes, the short str opcode, four framings.
        let ops = [super::op::SHORT_BINUNICODE, super::op::BINUNICODE];
        let more = [(true, 4, 1), (false, 4, -2), (true, 3, 0)];
        for text in &texts {
            for op in ops.into_iter().take(if cfg!(miri) { 1 } else { 2 }) {
                for (memo, proto, frame) in [(true, 4, 0), (false, 5, 0), (true, 4, -1)]
                    .into_iter()
                    .chain(more.into_iter().take(if cfg!(miri) { 1 } else { 3 }))
                {
                    let p = one_str(text, op, memo, proto, frame);
                    same([a, b, c], &p);
                    same([a, b, c], &[&p[..], &next].concat());
                }
            }
        }
    }

    /// Every single-byte change and every cut of the ack (with and without its MEMOIZE, and
    /// texts of 1, 8, 9, 17 and 33 bytes), alone and followed by the ack: the entry gives what
    /// the machine gives. Under Miri every seventh byte, to 0, 0x80 and its own value, and
    /// every third cut.
    #[test]
    fn every_change_of_an_ack_decodes_as_the_machine() {
        let mut d: [Decoder; 3] = [Decoder::new(), Decoder::new(), Decoder::new()];
        let [a, b, c] = &mut d;
        let ack = one_str(
            b"Server got the data",
            super::op::SHORT_BINUNICODE,
            true,
            4,
            0,
        );
        let mut pickles = std::vec![
            ack.clone(),
            one_str(
                b"Server got the data",
                super::op::SHORT_BINUNICODE,
                false,
                4,
                0
            ),
        ];
        if !cfg!(miri) {
            for n in [1, 8, 9, 17, 33] {
                let text: Vec<u8> = (0..n).map(|i| b'A' + i as u8).collect();
                pickles.push(one_str(&text, super::op::SHORT_BINUNICODE, true, 4, 0));
            }
        }
        for pickle in &pickles {
            for (i, &own) in pickle.iter().enumerate() {
                if cfg!(miri) && i % 7 != 0 {
                    continue;
                }
                let sample = |b: &u8| !cfg!(miri) || matches!(*b, 0 | 0x80) || *b == own;
                for byte in (0..=255u8).filter(sample) {
                    let mut m = pickle.clone();
                    m[i] = byte;
                    same([a, b, c], &m);
                    m.extend_from_slice(&ack);
                    same([a, b, c], &m);
                }
            }
            for cut in (0..pickle.len()).filter(|cut| !cfg!(miri) || cut % 3 == 0) {
                same([a, b, c], &pickle[..cut]);
            }
        }
    }
}
