//! The container opcodes: new lists, tuples, dicts, sets and frozensets, and items added
//! to them, linked into the arena with their depth, expansion and hashability.

use crate::pickle::error::Capacity;
use crate::pickle::opcodes::Opcode;

use super::arena::{
    leaf_weight, Backing, Container, ContainerKind, Edge, Id, Node, NodeId, Slab, Unhashable, NIL,
};
use super::fault::{Fault, Stop};
use super::machine::{At, Machine, MARK_ENTRY};
use super::Arena;
use super::MAX_DEPTH;

impl<A: Arena> Machine<'_, '_, A> {
    /// New containers: empty, or of the items above a MARK, or of the top 1-3 items.
    #[inline(always)]
    pub(super) fn build(&mut self, at: At) -> Result<(), Stop> {
        use Opcode::*;
        match at.op {
            EMPTY_LIST => self.push_container(ContainerKind::List)?,
            EMPTY_TUPLE => self.push_container(ContainerKind::Tuple)?,
            EMPTY_DICT => self.push_container(ContainerKind::Dict)?,
            EMPTY_SET => self.push_container(ContainerKind::Set)?,
            LIST | TUPLE | FROZENSET | DICT => {
                let kind = match at.op {
                    LIST => ContainerKind::List,
                    TUPLE => ContainerKind::Tuple,
                    FROZENSET => ContainerKind::FrozenSet,
                    _ => ContainerKind::Dict,
                };
                let mark = self.find_mark()?;
                if kind == ContainerKind::Dict && (self.d.stack.len() - mark - 1) % 2 != 0 {
                    return Err(self.bad_stack("odd number of items for a dict"));
                }
                let id = self.new_container(kind)?;
                self.move_items(mark + 1, id)?;
                self.closed_mark(mark);
                self.push_raw(id)?;
            }
            TUPLE1 | TUPLE2 | TUPLE3 => {
                let n = match at.op {
                    TUPLE1 => 1,
                    TUPLE2 => 2,
                    _ => 3,
                };
                let from = self
                    .d
                    .stack
                    .len()
                    .checked_sub(n)
                    .ok_or_else(|| self.bad_stack("not enough items for the tuple"))?;
                let items = self.d.stack.get(from..).unwrap_or_default();
                if items.contains(&MARK_ENTRY) {
                    return Err(self.bad_stack("a MARK inside the tuple's items"));
                }
                let id = self.new_container(ContainerKind::Tuple)?;
                self.move_items(from, id)?;
                self.d.stack.truncate(from);
                self.push_raw(id)?;
            }
            _ => return Err(self.refuse(None)),
        }
        Ok(())
    }

    /// Items added to the list, dict or set below them.
    #[inline(always)]
    pub(super) fn fill(&mut self, at: At) -> Result<(), Stop> {
        use Opcode::*;
        match at.op {
            APPEND | SETITEM => {
                let n = if at.op == APPEND { 1 } else { 2 };
                let from = self
                    .d
                    .stack
                    .len()
                    .checked_sub(n)
                    .ok_or_else(|| self.bad_stack("not enough items on the stack"))?;
                let items = self.d.stack.get(from..).unwrap_or_default();
                if items.contains(&MARK_ENTRY) {
                    return Err(self.bad_stack("a MARK where an item was expected"));
                }
                let want = if at.op == APPEND {
                    ContainerKind::List
                } else {
                    ContainerKind::Dict
                };
                let target = self.target_below(from, want)?;
                self.move_items(from, target)?;
                #[cfg(feature = "objects")]
                self.filled(from)?;
                self.d.stack.truncate(from);
            }
            APPENDS | SETITEMS | ADDITEMS => {
                let mark = self.find_mark()?;
                let want = match at.op {
                    APPENDS => ContainerKind::List,
                    SETITEMS => ContainerKind::Dict,
                    _ => ContainerKind::Set,
                };
                let items = self.d.stack.len() - mark - 1;
                if want == ContainerKind::Dict && items % 2 != 0 {
                    return Err(self.bad_stack("odd number of items for a dict"));
                }
                if items == 0 {
                    // CPython returns before it looks at the target: a no-op on any value.
                    self.below(mark)?;
                } else {
                    let target = self.target_below(mark, want)?;
                    let (keyed, was_empty) = (self.keyed, self.is_empty(target));
                    self.move_items(mark + 1, target)?;
                    #[cfg(feature = "objects")]
                    self.filled(mark)?;
                    // A dict filled in one SETITEMS (as CPython writes up to 1000 entries)
                    // whose keys are certainly distinct needs no merging at STOP.
                    if want == ContainerKind::Dict && was_empty && self.distinct_strs(mark + 1) {
                        self.keyed = keyed;
                    }
                }
                self.closed_mark(mark);
            }
            _ => return Err(self.refuse(None)),
        }
        Ok(())
    }

    /// Whether node `id` is a container without items.
    fn is_empty(&self, id: NodeId) -> bool {
        matches!(self.node(id), Node::Container(c) if c.len == 0)
    }

    /// True if the keys among the key-value pairs on the stack from index `from` are UTF-8
    /// `str`s that are certainly pairwise unequal (see [`key_bit`]). A `false` only means
    /// "merge at STOP as usual".
    fn distinct_strs(&self, from: usize) -> bool {
        let mut seen = 0u64;
        let pairs = self.d.stack.get(from..).unwrap_or(&[]);
        for &key in pairs.iter().step_by(2) {
            let bit = self
                .d
                .nodes
                .get(key as usize)
                .map_or(0, |&node| key_bit(node));
            if bit == 0 || seen & bit != 0 {
                return false;
            }
            seen |= bit;
        }
        true
    }

    pub(super) fn new_container(&mut self, kind: ContainerKind) -> Result<NodeId, Stop> {
        self.alloc(Node::Container(Container::empty(kind)))
    }

    pub(super) fn push_container(&mut self, kind: ContainerKind) -> Result<(), Stop> {
        let id = self.new_container(kind)?;
        self.push_raw(id)
    }

    /// The value just below stack index `index` (the target of the items above it).
    pub(super) fn below(&self, index: usize) -> Result<NodeId, Stop> {
        match index.checked_sub(1).and_then(|i| self.d.stack.get(i)) {
            None => Err(self.bad_stack("no container below the items")),
            Some(&MARK_ENTRY) => Err(self.bad_stack("a MARK where the container was expected")),
            Some(&id) => Ok(id),
        }
    }

    /// The container of kind `want` just below stack index `index`. Refuses what CPython
    /// refuses (no `append` on a set, no `add` on a list or frozenset, ...) and also what
    /// CPython runs through a method brine does not model: SETITEM(S) on a list or
    /// bytearray (`__setitem__` by index), APPEND(S) on a bytearray (`append`, `extend`).
    pub(super) fn target_below(
        &mut self,
        index: usize,
        want: ContainerKind,
    ) -> Result<NodeId, Stop> {
        let id = self.below(index)?;
        match self.node(id) {
            Node::Container(c) if c.kind == want => Ok(id),
            #[cfg(feature = "objects")]
            Node::Container(Container {
                kind: ContainerKind::Object(_),
                ..
            }) => self.object_items(id, want),
            Node::Container(Container {
                kind: ContainerKind::List,
                ..
            })
            | Node::Bytes { mutable: true, .. }
                if want == ContainerKind::Dict =>
            {
                Err(self.bad_stack(
                    "items set by index on a list or bytearray (CPython calls its \
                     __setitem__; brine sets items on dicts only)",
                ))
            }
            Node::Bytes { mutable: true, .. } if want == ContainerKind::List => Err(self
                .bad_stack(
                    "items appended to a bytearray (CPython calls its append or extend; brine \
                 appends to lists only)",
                )),
            _ => Err(self.bad_stack(match want {
                ContainerKind::List => "items appended to something that is not a list",
                ContainerKind::Dict => "items set on something that is not a dict",
                _ => "items added to something that is not a set",
            })),
        }
    }

    /// Appends stack entries `from..` (all items, no MARK) to container `target`, in order.
    /// With `fast`, in one batch when nothing in it can fail ([`link_batch`](Self::link_batch));
    /// without it, item by item (the same links, values and errors; flash).
    pub(super) fn move_items(&mut self, from: usize, target: NodeId) -> Result<(), Stop> {
        if cfg!(feature = "fast") && self.link_batch(from, target, false) {
            return Ok(());
        }
        // Something in the batch may fail: item by item, which finds the first failure.
        for i in from..self.d.stack.len() {
            let child = self.d.stack.get(i).copied().unwrap_or(MARK_ENTRY);
            if child == MARK_ENTRY {
                return Err(self.bad_stack("a MARK among the items"));
            }
            self.add_child(target, child)?;
        }
        Ok(())
    }

    /// The fast path of [`move_items`](Self::move_items): links stack entries `from..` to
    /// container `target` in one pass, checking depth and expansion once for the batch (both
    /// only grow, so a batch within them never crossed them). Returns false, having changed
    /// nothing that stays (new items are cut off again), where an item could fail or needs
    /// the item-by-item order: a MARK, a global, the container itself, an unhashable key, no
    /// room for the items, depth or expansion over their limits. `distinct`: the items are
    /// one SETITEMS; if the dict was empty and its new keys are certainly distinct
    /// ([`distinct_strs`](Self::distinct_strs)), it needs no merging at STOP.
    pub(super) fn link_batch(&mut self, from: usize, target: NodeId, distinct: bool) -> bool {
        let super::Storage {
            nodes,
            edges,
            stack,
            ..
        } = &mut *self.d;
        let items = stack.get(from..).unwrap_or(&[]);
        let (kind, len0, expansion0, depth0) = match nodes.get(target as usize) {
            Some(Node::Container(c)) => (c.kind, c.len as usize, c.expansion, c.depth),
            _ => return false,
        };
        let n = items.len();
        let filter = distinct && kind == ContainerKind::Dict && len0 == 0;
        // Checked first, written after: nothing changes unless every item passes.
        let mut sum = Sum {
            depth: 0,
            weight: 0,
            reason: Unhashable::No,
        };
        let (mut seen, mut unique) = (0u64, filter);
        match kind {
            // A dict's items are key-value pairs, and it holds whole pairs.
            ContainerKind::Dict => {
                if (len0 | n) & 1 != 0 {
                    return false;
                }
                for pair in items.chunks_exact(2) {
                    let &[key, value] = pair else {
                        return false;
                    };
                    let Some(&node) = nodes.get(key as usize) else {
                        return false;
                    };
                    // A str key (the usual) by one tag test: its weight and filter bit.
                    if let Node::Str { len, key: slot, .. } = node {
                        sum.weight += u64::from(len) + 1;
                        let bit = 1u64 << (slot & 63);
                        unique &= slot != 0 && seen & bit == 0;
                        seen |= bit;
                    } else if !sum.add_key(node, key, target) {
                        return false;
                    } else {
                        unique = false;
                    }
                    let Some(&node) = nodes.get(value as usize) else {
                        return false;
                    };
                    if !sum.add(node, value, target) {
                        return false;
                    }
                }
            }
            ContainerKind::Set | ContainerKind::FrozenSet => {
                for &child in items {
                    match nodes.get(child as usize) {
                        Some(&node) if sum.add_key(node, child, target) => {}
                        _ => return false,
                    }
                }
            }
            _ => {
                for &child in items {
                    match nodes.get(child as usize) {
                        Some(&node) if sum.add(node, child, target) => {}
                        _ => return false,
                    }
                }
            }
        }
        let keys = matches!(
            kind,
            ContainerKind::Dict | ContainerKind::Set | ContainerKind::FrozenSet
        );
        let Sum {
            depth,
            weight,
            reason,
        } = sum;
        if n == 0 {
            return true;
        }
        let sums = ((expansion0, depth0), (weight, depth));
        let Some(c) = link_summed(nodes, edges, target, items, sums, self.expansion) else {
            return false;
        };
        if kind == ContainerKind::Tuple && c.unhashable == Unhashable::No {
            c.unhashable = reason;
        }
        // A key added when the container already had one: merge and order at STOP.
        let second_key = match kind {
            ContainerKind::Dict => (len0 > 0 && n > len0 % 2) || n >= 3,
            _ => len0 + n >= 2,
        };
        if keys && second_key && !unique {
            self.keyed |= if kind == ContainerKind::FrozenSet {
                2
            } else {
                1
            };
        }
        true
    }

    /// Links `child` as the last item of container `parent`. Refuses what CPython refuses:
    /// an unhashable dict key or set item (`TypeError`).
    #[cfg_attr(feature = "fast", inline(always))]
    pub(super) fn add_child(&mut self, parent: NodeId, child: NodeId) -> Result<(), Stop> {
        let (child_depth, weight, unhashable) = match self.node(child) {
            Node::Container(c) => (c.depth, c.expansion, c.unhashable),
            Node::Builtin(_) => return Err(self.bad_stack("a global is not data")),
            Node::Global(_) => {
                // Checked at STOP: a global is data only as a stub, or an argument.
                self.d.globals_linked = true;
                (0, 1, Unhashable::No)
            }
            Node::Bytes { mutable: true, .. } => (0, 1, Unhashable::ByteArray),
            leaf => (0, leaf_weight(leaf), Unhashable::No),
        };
        // The index it gets (if it fits: else the push fails and the link is not kept).
        let index = self.d.edges.len() as Id;
        let edge = self
            .d
            .edges
            .push_id(Edge::new(index, child, NIL))
            .map_err(|limit| self.capacity(Capacity::Items, limit))?;
        let Some(Node::Container(c)) = self.d.nodes.get_mut(parent as usize) else {
            return Err(self.bad_stack("not a container"));
        };
        match c.kind {
            ContainerKind::Dict | ContainerKind::Set | ContainerKind::FrozenSet => {
                let is_key = c.kind != ContainerKind::Dict || c.len % 2 == 0;
                if is_key && unhashable != Unhashable::No {
                    let name = match unhashable.type_name() {
                        Some(name) => name,
                        #[cfg(feature = "objects")]
                        None => self.collection_name(child),
                        #[cfg(not(feature = "objects"))]
                        None => "?",
                    };
                    return Err(self.fail(Fault::Unhashable(name)));
                }
                // A second key: equal keys may need merging, a set ordering.
                if is_key && c.len > 0 {
                    self.keyed |= if c.kind == ContainerKind::FrozenSet {
                        2
                    } else {
                        1
                    };
                }
            }
            ContainerKind::Tuple if c.unhashable == Unhashable::No => c.unhashable = unhashable,
            _ => {}
        }
        c.expansion = c.expansion.saturating_add(weight);
        if c.expansion > self.expansion {
            return Err(self.capacity(Capacity::Expansion, self.expansion as usize));
        }
        if c.first == NIL {
            c.first = edge;
        } else if let Some(last) = self.d.edges.get_mut(c.last as usize) {
            last.set_next(c.last, edge);
        }
        c.last = edge;
        c.len += 1;
        c.depth = c.depth.max(child_depth + 1);
        if c.depth as usize > MAX_DEPTH {
            return Err(self.capacity(Capacity::Depth, MAX_DEPTH));
        }
        Ok(())
    }
}

/// What a batch of items adds to their container, summed item by item.
struct Sum {
    /// The deepest item's depth.
    depth: u8,
    weight: u64,
    /// The first unhashable item's reason (for a tuple).
    reason: Unhashable,
}

impl Sum {
    /// Adds item `child` (`node`) to container `target`; false where the batch cannot be
    /// linked at once: the container itself, a global (linked item by item, which notes it
    /// for STOP).
    #[inline(always)]
    fn add(&mut self, node: Node, child: NodeId, target: NodeId) -> bool {
        // The most frequent first (measured: -1% against one match over every variant; the
        // compiler still decodes `Node`'s niche into a jump table here).
        if let Node::Str { len, .. } = node {
            self.weight += u64::from(len) + 1;
        } else if let Node::Container(c) = node {
            if child == target {
                return false;
            }
            self.depth = self.depth.max(c.depth);
            self.weight += u64::from(c.expansion);
            if self.reason == Unhashable::No {
                self.reason = c.unhashable;
            }
        } else if let Node::Int(_) | Node::Float(_) | Node::Bool(_) | Node::None = node {
            self.weight += 1;
        } else {
            return self.add_other(node);
        }
        true
    }

    /// [`add`](Self::add) for the other nodes.
    #[inline(always)]
    fn add_other(&mut self, node: Node) -> bool {
        match node {
            Node::Builtin(_) | Node::Global(_) => return false,
            Node::Bytes { mutable: true, .. } => {
                self.weight += 1;
                if self.reason == Unhashable::No {
                    self.reason = Unhashable::ByteArray;
                }
            }
            leaf => self.weight += u64::from(leaf_weight(leaf)),
        }
        true
    }

    /// [`add`](Self::add) for a dict key or set item, which must also be hashable.
    #[inline(always)]
    fn add_key(&mut self, node: Node, child: NodeId, target: NodeId) -> bool {
        match node {
            Node::Container(c) if c.unhashable != Unhashable::No => false,
            Node::Bytes { mutable: true, .. } => false,
            _ => self.add(node, child, target),
        }
    }
}

/// A UTF-8 `str` key's bit in a 64-bit filter (its [`key_slot`](super::arena::key_slot)):
/// equal strs always get the same bit. 0 for any other node.
#[inline(always)]
fn key_bit(node: Node) -> u64 {
    match node {
        Node::Str { key, .. } if key != 0 => 1u64 << (key & 63),
        _ => 0,
    }
}

/// Links `items` (at least one) to container `target`, which had expansion and depth
/// `before`; `items` weigh `weight` and the deepest of them is `depth` deep. None, having
/// changed nothing, past `limit` or [`MAX_DEPTH`] or when the edges are full; else the
/// container, its chain, expansion and depth updated.
#[inline(always)]
pub(super) fn link_summed<'n, N: Backing<Item = Node>, E: Backing<Item = Edge>>(
    nodes: &'n mut Slab<N>,
    edges: &mut Slab<E>,
    target: NodeId,
    items: &[Id],
    (before, (weight, depth)): ((u32, u8), (u64, u8)),
    limit: u32,
) -> Option<&'n mut Container> {
    let (expansion0, depth0) = before;
    let expansion = u64::from(expansion0) + weight;
    let depth = depth0.max(depth + 1);
    if expansion > u64::from(limit) || usize::from(depth) > MAX_DEPTH {
        return None;
    }
    let Some(Node::Container(c)) = nodes.get_mut(target as usize) else {
        return None;
    };
    if !chain(edges, c, items) {
        return None;
    }
    // Within `limit`, a u32.
    c.expansion = expansion as u32;
    c.depth = depth;
    Some(c)
}

/// Appends `items` (node ids, at least one) to container `c`'s chain as new edges, in order;
/// false, having changed nothing, if the edges are full.
#[inline(always)]
pub(super) fn chain<B: Backing<Item = Edge>>(
    edges: &mut Slab<B>,
    c: &mut Container,
    items: &[Id],
) -> bool {
    let (first, n) = (edges.len(), items.len());
    let Some(slots) = edges.grow_by(n) else {
        return false;
    };
    // Chained in order (each link followed by the next one, so the same value for every
    // item); the last ends the chain.
    // Two at a time (a dict's pairs): one loop without a remainder loop for them.
    let (two_slots, last_slot) = slots.as_chunks_mut::<2>();
    let (twos, last_one) = items.as_chunks::<2>();
    for (slot, &[a, b]) in two_slots.iter_mut().zip(twos) {
        *slot = [Edge::adjacent(a), Edge::adjacent(b)];
    }
    for (slot, &child) in last_slot.iter_mut().zip(last_one) {
        *slot = Edge::adjacent(child);
    }
    let last = (first + n - 1) as Id;
    if let Some(edge) = slots.last_mut() {
        edge.set_next(last, NIL);
    }
    // The new edges follow the container's last.
    // An empty container's first: no tail to look up.
    if c.first == NIL {
        c.first = first as Id;
    } else {
        match edges.get_mut(c.last as usize) {
            Some(tail) => tail.set_next(c.last, first as Id),
            None => c.first = first as Id,
        }
    }
    c.last = last;
    c.len += n as Id;
    true
}
