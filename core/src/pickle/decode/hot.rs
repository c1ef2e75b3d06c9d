//! The loop's inline arms: the opcodes CPython writes most in the binary protocols (memo
//! reads and writes, short strings, small ints, floats, MARK, new containers, items
//! added), each done in place when nothing can fail. An arm that declines (a full table,
//! a truncated or malformed argument, an item that needs the item-by-item checks) has
//! changed nothing, and the loop runs the opcode's family function from its start, which
//! gives the exact result or error. The arms read `window`: a read past the current FRAME's
//! end declines, and the family function checks it as pickle.py does.

use crate::pickle::opcodes::le_u64;
use crate::pickle::text::{self, TextEncoding};

use super::arena::{leaf_weight, text_words, Container, ContainerKind, Id, Node, NIL};
use super::containers::{chain, link_summed};
use super::machine::{op, Hot, Machine, MARK_ENTRY};
use super::{Arena, Storage};

/// The lengths of the nodes, the stack and the memo while the inline arms run: locals (so
/// registers), stored into the storage only when the loop stops or calls out
/// ([`store`](Self::store)) instead of loaded and stored at every push. `*_room`: the slots
/// an arm may fill (a slab that grows is grown by the general path: the arm declines).
#[derive(Clone, Copy)]
pub(super) struct Lens {
    nodes: usize,
    memo: usize,
    nodes_room: usize,
    memo_room: usize,
}

impl Lens {
    #[inline(always)]
    fn load<A: Arena>(d: &Storage<A>) -> Self {
        Lens {
            nodes: d.nodes.len,
            memo: d.memo.len,
            // Node ids stay below NIL, as `Slab::push_id` keeps them.
            nodes_room: d.nodes.room().min(NIL as usize),
            memo_room: d.memo.room(),
        }
    }

    /// The lengths into the storage, for anything that reads them there.
    #[inline(always)]
    fn store<A: Arena>(self, d: &mut Storage<A>) {
        d.nodes.len = self.nodes;
        d.memo.len = self.memo;
    }
}

impl<'i, A: Arena> Machine<'_, 'i, A> {
    /// The inline arms, dispatched on the raw opcode byte one opcode after another, until
    /// one declines (or STOP, or the window's end): `h` is left at that opcode for
    /// [`run`](Self::run). Out of line, with the machine a `&mut` argument: its fields (the
    /// storage's address first) are not loaded again after each store into the arena, as
    /// they were while the loop of `run`, whose machine's address escapes to `step`, ran
    /// the arms.
    #[inline(never)]
    pub(super) fn fast_run(&mut self, h: Hot<'i>) -> Hot<'i> {
        let (mut hl, mut r) = (h, Lens::load(self.d));
        while let Some(&byte) = hl.window.get(hl.pos) {
            hl.pos += 1;
            let r = &mut r;
            let done = match byte {
                op::BINGET => self.fast_get(&mut hl, r),
                op::PROTO => self.fast_proto(&mut hl),
                op::FRAME => self.fast_frame(&mut hl),
                op::MEMOIZE => self.fast_memoize(r),
                op::BINPUT => self.fast_binput(&mut hl, r),
                // The leaves, each arm with its opcode as a constant (so `leaf` folds).
                op::SHORT_BINUNICODE => self.fast_leaf_op(&mut hl, r, op::SHORT_BINUNICODE),
                op::BINUNICODE => self.fast_leaf_op(&mut hl, r, op::BINUNICODE),
                op::MARK => self.fast_mark(),
                op::NONE => self.fast_leaf_op(&mut hl, r, op::NONE),
                op::NEWTRUE => self.fast_leaf_op(&mut hl, r, op::NEWTRUE),
                op::NEWFALSE => self.fast_leaf_op(&mut hl, r, op::NEWFALSE),
                op::BININT1 => self.fast_leaf_op(&mut hl, r, op::BININT1),
                op::BININT2 => self.fast_leaf_op(&mut hl, r, op::BININT2),
                op::BININT => self.fast_leaf_op(&mut hl, r, op::BININT),
                op::BINFLOAT => self.fast_leaf_op(&mut hl, r, op::BINFLOAT),
                op::EMPTY_LIST => self.fast_empty(&mut hl, r, ContainerKind::List),
                op::EMPTY_DICT => self.fast_empty(&mut hl, r, ContainerKind::Dict),
                op::TUPLE2 => self.fast_tuple(&mut hl, r, 2),
                op::APPEND => self.fast_add(r, 1, ContainerKind::List),
                op::SETITEM => self.fast_add(r, 2, ContainerKind::Dict),
                op::APPENDS => self.fast_fill(r, ContainerKind::List),
                op::SETITEMS => self.fast_fill(r, ContainerKind::Dict),
                _ => false,
            };
            // A declining arm left `hl` as it was, just past the opcode byte.
            if !done {
                hl.pos -= 1;
                break;
            }
        }
        r.store(self.d);
        hl
    }

    /// PROTO of a protocol brine reads (0-5).
    #[inline(always)]
    pub(super) fn fast_proto(&mut self, h: &mut Hot<'i>) -> bool {
        match h.window.get(h.pos) {
            Some(&version) if version <= 5 => {
                self.proto = version;
                h.pos += 1;
                true
            }
            _ => false,
        }
    }

    /// FRAME, outside any frame, of at most the bytes left: the window becomes the frame.
    #[inline(always)]
    pub(super) fn fast_frame(&mut self, h: &mut Hot<'i>) -> bool {
        frame(self.d, self.input, h)
    }

    /// Pushes a new node whose opcode ends at `end`, and runs a MEMOIZE that follows it.
    /// Inlined in every leaf arm (the arms exist only with `fast`; measured: a call per leaf
    /// cost ~11 instructions). Declining, it leaves `h` as it was.
    #[inline(always)]
    pub(super) fn fast_leaf(
        &mut self,
        h: &mut Hot<'i>,
        r: &mut Lens,
        end: usize,
        node: Node,
    ) -> bool {
        let id = r.nodes;
        let d = &mut *self.d;
        let slot = match d.nodes.slot_mut(id) {
            Some(slot) if id < r.nodes_room => slot,
            _ => return false,
        };
        if d.stack.push(id as Id).is_err() {
            return false;
        }
        *slot = node;
        r.nodes = id + 1;
        h.pos = end;
        self.then_memoize(h, r, id as Id);
        true
    }

    /// The top of the stack.
    #[inline(always)]
    fn top(&self) -> Option<Id> {
        self.d.stack.last().copied()
    }

    /// Pushes `entry` onto the stack; false, having changed nothing, if it is full.
    #[inline(always)]
    fn stack_push(&mut self, entry: Id) -> bool {
        self.d.stack.push(entry).is_ok()
    }

    /// Appends `id` to the memo; false, having changed nothing, if it is full.
    #[inline(always)]
    fn memo_push(&mut self, r: &mut Lens, id: Id) -> bool {
        if r.memo >= r.memo_room {
            return false;
        }
        let Some(slot) = self.d.memo.slot_mut(r.memo) else {
            return false;
        };
        *slot = id;
        r.memo += 1;
        true
    }

    /// The next opcode if it is a MEMOIZE into the next fresh slot, `id` being the top of the
    /// stack (CPython memoizes most new values at once): done here, saving a dispatch. Read
    /// in the window, as the loop does (past it, the loop runs the MEMOIZE).
    #[inline(always)]
    fn then_memoize(&mut self, h: &mut Hot<'i>, r: &mut Lens, id: Id) {
        if memoize_next(h.window, h.pos) && self.holes == 0 && self.memo_push(r, id) {
            h.pos += 1;
        }
    }

    /// A new empty container.
    #[inline(always)]
    pub(super) fn fast_empty(
        &mut self,
        h: &mut Hot<'i>,
        r: &mut Lens,
        kind: ContainerKind,
    ) -> bool {
        self.fast_new(h, r, Node::Container(Container::empty(kind)))
    }

    /// A new node of an opcode without argument (an empty container).
    #[inline(always)]
    pub(super) fn fast_new(&mut self, h: &mut Hot<'i>, r: &mut Lens, node: Node) -> bool {
        let end = h.pos;
        self.fast_leaf(h, r, end, node)
    }

    /// The leaf opcode `byte` (one [`leaf`] reads), pushed with the MEMOIZE after it.
    #[inline(always)]
    fn fast_leaf_op(&mut self, h: &mut Hot<'i>, r: &mut Lens, byte: u8) -> bool {
        let Some((node, end)) = leaf(byte, h.window, h.pos, self.check_utf8) else {
            return false;
        };
        self.fast_leaf(h, r, end, node)
    }

    /// MARK.
    #[inline(always)]
    pub(super) fn fast_mark(&mut self) -> bool {
        let index = self.d.stack.len;
        if !self.stack_push(MARK_ENTRY) {
            return false;
        }
        self.opened_mark(index);
        true
    }

    /// MEMOIZE into the next fresh slot.
    #[inline(always)]
    pub(super) fn fast_memoize(&mut self, r: &mut Lens) -> bool {
        let Some(top) = self.top() else {
            return false;
        };
        top != MARK_ENTRY && self.holes == 0 && self.memo_push(r, top)
    }

    /// BINPUT into a slot that exists or the next one.
    #[inline(always)]
    pub(super) fn fast_binput(&mut self, h: &mut Hot<'i>, r: &mut Lens) -> bool {
        let Some(&index) = h.window.get(h.pos) else {
            return false;
        };
        let Some(top) = self.top() else {
            return false;
        };
        if top == MARK_ENTRY {
            return false;
        }
        let index = usize::from(index);
        if index == r.memo {
            if !self.memo_push(r, top) {
                return false;
            }
        } else {
            let slot = match self.d.memo.slot_mut(index) {
                Some(slot) if index < r.memo => slot,
                _ => return false,
            };
            if *slot == NIL {
                self.holes -= 1;
            }
            *slot = top;
        }
        h.pos += 1;
        true
    }

    /// BINGET of a filled slot.
    #[inline(always)]
    pub(super) fn fast_get(&mut self, h: &mut Hot<'i>, r: &mut Lens) -> bool {
        let Some(&index) = h.window.get(h.pos) else {
            return false;
        };
        let d = &*self.d;
        // The slot read directly: a one-byte index needs no compare with the array's size.
        // A hole (NIL) is no node: node ids stay below the nodes' length, itself below NIL.
        let index = usize::from(index);
        let id = match d.memo.slot(index) {
            Some(&id) if index < r.memo && (id as usize) < r.nodes => id,
            _ => return false,
        };
        let container = matches!(d.nodes.slot(id as usize), Some(Node::Container(_)));
        if !self.stack_push(id) {
            return false;
        }
        h.pos += 1;
        // A container pushed again: its structure may now be shared or cyclic.
        if container {
            self.shared = true;
        }
        true
    }

    /// TUPLE1, TUPLE2, TUPLE3: a tuple of the top `n` items.
    #[inline(always)]
    pub(super) fn fast_tuple(&mut self, h: &mut Hot<'i>, r: &mut Lens, n: usize) -> bool {
        let Some(from) = self.items_from(n) else {
            return false;
        };
        let id = r.nodes;
        let slot = match self.d.nodes.slot_mut(id) {
            Some(slot) if id < r.nodes_room => slot,
            _ => return false,
        };
        *slot = Node::Container(Container::empty(ContainerKind::Tuple));
        r.nodes += 1;
        let id = id as Id;
        // `link_few` and `link_batch` read the lengths in the storage.
        r.store(self.d);
        if !self.link_few(from..from + n, id) && !self.link_batch(from, id, false) {
            r.nodes -= 1;
            return false;
        }
        // The tuple in its items' place (cannot fail: `n` entries were just removed).
        self.d.stack.truncate(from);
        if !self.stack_push(id) {
            return false;
        }
        self.then_memoize(h, r, id);
        true
    }

    /// The stack index of the top `n` entries, if there are `n` and none is a MARK.
    #[inline(always)]
    fn items_from(&self, n: usize) -> Option<usize> {
        let from = self.d.stack.len.checked_sub(n)?;
        let items = self.d.stack.get(from..)?;
        (!items.contains(&MARK_ENTRY)).then_some(from)
    }

    /// APPEND (`n` 1, onto a list), SETITEM (`n` 2, into a dict).
    #[inline(always)]
    pub(super) fn fast_add(&mut self, r: &mut Lens, n: usize, want: ContainerKind) -> bool {
        let Some(from) = self.items_from(n) else {
            return false;
        };
        // What follows reads the lengths in the storage.
        r.store(self.d);
        let Some(target) = self.container_at(from, want) else {
            return false;
        };
        if !self.link_few(from..from + n, target) && !self.link_batch(from, target, false) {
            return false;
        }
        self.d.stack.truncate(from);
        true
    }

    /// [`link_batch`](Self::link_batch) for APPEND, SETITEM and TUPLE1-3 when every item is
    /// a scalar other than a bytearray (hashable, depth 0, no cycle possible): the items'
    /// weights, one expansion check, the edges appended to the chain. False, having changed
    /// nothing, otherwise (then `link_batch` decides).
    #[inline(always)]
    fn link_few(&mut self, range: core::ops::Range<usize>, target: super::arena::NodeId) -> bool {
        let super::Storage {
            nodes,
            edges,
            stack,
            ..
        } = &mut *self.d;
        let Some(items) = stack.get(range) else {
            return false;
        };
        let mut weight = 0u32;
        for &child in items {
            match nodes.get(child as usize) {
                Some(
                    Node::Container(_)
                    | Node::Builtin(_)
                    | Node::Global(_)
                    | Node::Bytes { mutable: true, .. },
                )
                | None => return false,
                Some(&leaf) => weight = weight.saturating_add(leaf_weight(leaf)),
            }
        }
        let n = items.len();
        let Some(Node::Container(c)) = nodes.get_mut(target as usize) else {
            return false;
        };
        let expansion = c.expansion.saturating_add(weight);
        if expansion > self.expansion {
            return false;
        }
        let len0 = c.len;
        if !chain(edges, c, items) {
            return false;
        }
        c.expansion = expansion;
        c.depth = c.depth.max(1);
        // A second key (these items are hashable): merge and order at STOP.
        let second_key = match c.kind {
            ContainerKind::Dict => len0 > 0,
            ContainerKind::Set => len0 + n as Id >= 2,
            ContainerKind::FrozenSet => len0 + n as Id >= 2,
            _ => false,
        };
        if second_key {
            self.keyed |= if c.kind == ContainerKind::FrozenSet {
                2
            } else {
                1
            };
        }
        true
    }

    /// APPENDS (onto a list), SETITEMS (into a dict): the items above the topmost MARK.
    #[inline(always)]
    pub(super) fn fast_fill(&mut self, r: &mut Lens, want: ContainerKind) -> bool {
        let Some(mark) = self.known_mark() else {
            return false;
        };
        let items = self.d.stack.len - mark - 1;
        if items == 0 || (want == ContainerKind::Dict && items % 2 != 0) {
            return false;
        }
        // What follows reads the lengths in the storage.
        r.store(self.d);
        let Some(target) = self.container_at(mark, want) else {
            return false;
        };
        let dict = want == ContainerKind::Dict;
        let linked = if dict {
            self.fill_new_dict(mark + 1, target)
        } else {
            self.fill_list(mark + 1, target)
        } || self.link_batch(mark + 1, target, dict);
        if !linked {
            return false;
        }
        // The MARK and the items are gone.
        self.closed_mark(mark);
        true
    }

    /// [`link_batch`](Self::link_batch) for the common SETITEMS: into an empty dict, every
    /// key a UTF-8 `str`, every value a `str`, `None`, `bool`, `int`, `float` or another
    /// container (no tuple reason, no key hashing beyond the str, no kind dispatch: fewer
    /// live values than `link_batch`'s loop). The same checks and results; false, having
    /// changed nothing, for anything else (then `link_batch` decides).
    #[inline(never)]
    fn fill_new_dict(&mut self, from: usize, target: super::arena::NodeId) -> bool {
        let super::Storage {
            nodes,
            edges,
            stack,
            ..
        } = &mut *self.d;
        let items = stack.get(from..).unwrap_or(&[]);
        // `seen`: the keys' bits; no key may equal another while each key has a bit of
        // its own (as many bits as keys).
        let (mut weight, mut depth, mut seen) = (0u64, 0u8, 0u64);
        let (pairs, []) = items.as_chunks::<2>() else {
            return false;
        };
        for &[key, value] in pairs {
            match nodes.get(key as usize) {
                Some(&Node::Str { len, key: slot, .. }) if slot != 0 => {
                    weight += u64::from(len) + 1;
                    seen |= 1u64 << (slot & 63);
                }
                _ => return false,
            }
            if !plain_item(
                nodes.get(value as usize),
                value,
                target,
                &mut weight,
                &mut depth,
            ) {
                return false;
            }
        }
        // The dict is looked up after the loop: fewer values live through it.
        let Some(Node::Container(c)) = nodes.get(target as usize) else {
            return false;
        };
        if c.len != 0 || pairs.is_empty() {
            return false;
        }
        let sums = ((c.expansion, c.depth), (weight, depth));
        if link_summed(nodes, edges, target, items, sums, self.expansion).is_none() {
            return false;
        }
        // Two keys or more that may be equal: merge at STOP (as `link_batch`).
        if pairs.len() >= 2 && seen.count_ones() as usize != pairs.len() {
            self.keyed |= 1;
        }
        true
    }

    /// [`link_batch`](Self::link_batch) for the common APPENDS: onto a list, every item a
    /// `str`, `None`, `bool`, `int`, `float` or another container ([`plain_item`]). The
    /// same checks and results; false, having changed nothing, for anything else.
    #[inline(never)]
    fn fill_list(&mut self, from: usize, target: super::arena::NodeId) -> bool {
        let super::Storage {
            nodes,
            edges,
            stack,
            ..
        } = &mut *self.d;
        let items = stack.get(from..).unwrap_or(&[]);
        let (mut weight, mut depth) = (0u64, 0u8);
        for &child in items {
            if !plain_item(
                nodes.get(child as usize),
                child,
                target,
                &mut weight,
                &mut depth,
            ) {
                return false;
            }
        }
        // Looked up after the loop, as in `fill_new_dict`.
        let Some(Node::Container(c)) = nodes.get(target as usize) else {
            return false;
        };
        let sums = ((c.expansion, c.depth), (weight, depth));
        if items.is_empty()
            || link_summed(nodes, edges, target, items, sums, self.expansion).is_none()
        {
            return false;
        }
        true
    }

    /// The container of kind `want` just below stack index `index`.
    #[inline(always)]
    fn container_at(&self, index: usize, want: ContainerKind) -> Option<super::arena::NodeId> {
        let id = *self.d.stack.get(index.checked_sub(1)?)?;
        match self.d.nodes.get(id as usize) {
            Some(Node::Container(c)) if c.kind == want => Some(id),
            _ => None,
        }
    }
}

/// FRAME (its length at `h.pos`), outside any frame, of at most the bytes left: the window
/// becomes the frame. False, having changed nothing, otherwise.
#[inline(always)]
pub(super) fn frame<'i, A: Arena>(d: &mut Storage<A>, input: &'i [u8], h: &mut Hot<'i>) -> bool {
    let start = h.pos + 8;
    let Some(len) = h.window.get(h.pos..start) else {
        return false;
    };
    match usize::try_from(le_u64(len)) {
        Ok(len) if len <= input.len() - start && start >= d.frame_end => {
            d.frame_end = start + len;
            h.window = input.get(..start + len).unwrap_or(input);
            h.pos = start;
            true
        }
        _ => false,
    }
}

/// One leaf opcode of the binary protocols, the one reading of it for the machine's inline
/// arms and the serde pull driver (`pickle/de_pull.rs`): None, True, False, BININT1,
/// BININT2 (unsigned), BININT (signed), BINFLOAT, SHORT_BINUNICODE and BINUNICODE, whose
/// argument starts at `arg` in `window`. Its node and where its argument ends; `None` for
/// any other opcode, an argument past the window, or a str that is not UTF-8 when
/// `check_utf8` (then the machine's family function gives the exact result or error).
#[inline(always)]
pub(crate) fn leaf(byte: u8, window: &[u8], arg: usize, check_utf8: bool) -> Option<(Node, usize)> {
    let fixed = |width: usize| window.get(arg..arg + width);
    let node = match byte {
        op::SHORT_BINUNICODE => return str_leaf::<1>(window, arg, check_utf8),
        op::BINUNICODE => return str_leaf::<4>(window, arg, check_utf8),
        op::NONE => Node::None,
        op::NEWTRUE => Node::Bool(true),
        op::NEWFALSE => Node::Bool(false),
        op::BININT1 => Node::Int(i64::from(*window.get(arg)?)),
        op::BININT2 => match *fixed(2)? {
            [a, b] => Node::Int(i64::from(u16::from_le_bytes([a, b]))),
            _ => return None,
        },
        op::BININT => match *fixed(4)? {
            [a, b, c, d] => Node::Int(i64::from(i32::from_le_bytes([a, b, c, d]))),
            _ => return None,
        },
        op::BINFLOAT => Node::Float(f64::from_be_bytes(*<&[u8; 8]>::try_from(fixed(8)?).ok()?)),
        _ => return None,
    };
    Some((node, arg + width(byte)))
}

/// The argument width of the fixed-width leaf opcodes [`leaf`] reads (0 for the others).
#[inline(always)]
fn width(byte: u8) -> usize {
    match byte {
        op::BININT1 => 1,
        op::BININT2 => 2,
        op::BININT => 4,
        op::BINFLOAT => 8,
        _ => 0,
    }
}

/// Whether the opcode at `pos` is a MEMOIZE (CPython writes one after most new values; the
/// inline arms and the pull driver take it with the value).
#[inline(always)]
pub(crate) fn memoize_next(window: &[u8], pos: usize) -> bool {
    window.get(pos) == Some(&op::MEMOIZE)
}

/// The node of the SHORT_BINUNICODE (`W` 1) or BINUNICODE (`W` 4) whose argument starts at
/// `arg`, and where the argument ends; `None` if it runs past the window or is not UTF-8
/// (when `check_utf8`).
#[inline(always)]
fn str_leaf<const W: usize>(window: &[u8], arg: usize, check_utf8: bool) -> Option<(Node, usize)> {
    let start = arg + W;
    let raw = str_raw::<W>(window, arg)?;
    // Its words read once for its key slot and the ASCII test.
    let words = text_words(raw);
    if check_utf8 && !words.ascii && text::validate_text(raw, TextEncoding::Utf8).is_err() {
        return None;
    }
    let node = Node::Str {
        start: start as u32,
        len: raw.len() as u32,
        enc: TextEncoding::Utf8,
        key: words.slot,
    };
    Some((node, start + raw.len()))
}

/// The text of the SHORT_BINUNICODE (`W` 1) or BINUNICODE (`W` 4) whose argument starts at
/// `arg`, if it is all inside `window`.
#[inline(always)]
pub(super) fn str_raw<const W: usize>(window: &[u8], arg: usize) -> Option<&[u8]> {
    let start = arg + W;
    window.get(start..start.checked_add(str_len::<W>(window, arg)?)?)
}

/// The length of a str whose `W`-byte length argument starts at `arg`, if it is inside
/// `window`. SHORT_BINUNICODE's one-byte length is read as a byte (no slice, no loop).
#[inline(always)]
fn str_len<const W: usize>(window: &[u8], arg: usize) -> Option<usize> {
    if W == 1 {
        return window.get(arg).map(|&n| usize::from(n));
    }
    usize::try_from(le_u64(window.get(arg..arg + W)?)).ok()
}

/// `None`, `bool`, `int`, `float`: the bits of their [`Node::tag`]s.
const SCALARS: u32 = 1 << Node::None.tag()
    | 1 << Node::Bool(false).tag()
    | 1 << Node::Int(0).tag()
    | 1 << Node::Float(0.0).tag();

/// Adds item `child` (`node`) of container `target` to `weight` and `depth` where it is a
/// `str`, `None`, `bool`, `int`, `float` or another container; false for anything else.
#[inline(always)]
fn plain_item(
    node: Option<&Node>,
    child: Id,
    target: Id,
    weight: &mut u64,
    depth: &mut u8,
) -> bool {
    // The scalars by one bit test on the tag, then the two shapes with fields: no jump
    // table per item.
    let Some(node) = node else {
        return false;
    };
    if (1u32 << node.tag()) & SCALARS != 0 {
        *weight += 1;
    } else if let Node::Str { len, .. } = *node {
        *weight += u64::from(len) + 1;
    } else if let Node::Container(v) = *node {
        if child == target {
            return false;
        }
        *weight += u64::from(v.expansion);
        *depth = (*depth).max(v.depth);
    } else {
        return false;
    }
    true
}
