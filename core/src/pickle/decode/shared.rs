//! The checks at STOP: equal dict keys and set items merged (see [`keys`](crate::pickle::keys)),
//! and, when a container was pushed twice (memo GET or DUP), one walk of the value that
//! refuses cycles and computes exact depth and expansion.

use heapless::Vec;

use crate::pickle::error::{Capacity, Error};
use crate::pickle::keys::{Keys, Scratch};

use super::arena::{leaf_weight, ContainerKind, Edge, Id, Node, NodeId};
use super::machine::{At, Machine};
use super::Arena;
use super::MAX_DEPTH;

impl<A: Arena> Machine<'_, '_, A> {
    /// Merges equal dict keys and set items and puts sets in CPython's order (see
    /// [`keys`](super::keys)), in the storage the machine no longer needs. Fails only
    /// when that work exceeds the expansion limit ([`MAX_EXPANSION`](super::MAX_EXPANSION) units
    /// for a [`Decoder`](super::Decoder)).
    pub(super) fn merge_keys(&mut self, at: At) -> Result<(), Error> {
        let d = &mut *self.d;
        let used = d.edges.len();
        let nodes = &d.nodes;
        // Where storage can grow: room for CPython's table of the largest set (at most 8n + 2
        // slots after its last resize, beside the n items being moved) or for merging the
        // largest dict's n keys (a table of at most 4n slots, len being 2n).
        let want = || {
            let need = |node: &Node| match node {
                Node::Container(c) => match c.kind {
                    ContainerKind::Set | ContainerKind::FrozenSet => 10 * c.len as usize,
                    ContainerKind::Dict => 2 * c.len as usize,
                    ContainerKind::List | ContainerKind::Tuple | ContainerKind::Object(_) => 0,
                },
                _ => 0,
            };
            nodes.iter().map(need).max().unwrap_or(0) + 64
        };
        let a = d.memo.storage(want);
        let (edges, spare) = d.edges.storage(|| used).split_at_mut(used);
        let mut scratch = Scratch {
            a,
            b: d.stack.storage(|| 0),
            spare,
        };
        Keys {
            input: self.input,
            nodes: &mut d.nodes,
            edges,
            budget: self.expansion,
        }
        .merge_all(&mut scratch, self.keyed & 2 != 0)
        .map_err(|_| at.capacity(Capacity::Expansion, self.expansion as usize))
    }

    // ---- shared structure: cycles, depth, expansion ----

    /// Walks the value from `root` once (iteratively) when containers were shared: refuses
    /// cycles, and computes exact depth and expansion (bounded by [`MAX_DEPTH`] and
    /// the expansion limit).
    pub(super) fn check_shared(&mut self, root: NodeId, at: At) -> Result<(), Error> {
        struct Frame {
            node: NodeId,
            edge: Id,
            left: Id,
            depth: u16,
            expansion: u32,
        }
        let mut path: Vec<Frame, { MAX_DEPTH + 1 }> = Vec::new();
        let Some(Node::Container(c)) = self.d.nodes.get_mut(root as usize) else {
            return Ok(());
        };
        c.visit = 1;
        let _ = path.push(Frame {
            node: root,
            edge: c.first,
            left: c.len,
            depth: 1,
            expansion: 1,
        });
        while let Some(top) = path.last_mut() {
            if top.left == 0 {
                // Done with this container: record and fold into the parent.
                let Some(done) = path.pop() else { break };
                if let Some(Node::Container(c)) = self.d.nodes.get_mut(done.node as usize) {
                    c.visit = 2;
                    c.depth = done.depth;
                    c.expansion = done.expansion;
                }
                if let Some(parent) = path.last_mut() {
                    parent.depth = parent.depth.max(done.depth + 1);
                    parent.expansion = parent.expansion.saturating_add(done.expansion);
                }
                continue;
            }
            let Some(&Edge { child, next }) = self.d.edges.get(top.edge as usize) else {
                top.left = 0;
                continue;
            };
            top.edge = next;
            top.left -= 1;
            let (depth, expansion) = match self.d.nodes.get_mut(child as usize) {
                Some(Node::Container(c)) => match c.visit {
                    0 => {
                        c.visit = 1;
                        let frame = Frame {
                            node: child,
                            edge: c.first,
                            left: c.len,
                            depth: 1,
                            expansion: 1,
                        };
                        path.push(frame)
                            .map_err(|_| at.capacity(Capacity::Depth, MAX_DEPTH))?;
                        continue;
                    }
                    1 => return Err(Error::Recursive { offset: at.offset }),
                    _ => (c.depth, c.expansion),
                },
                Some(leaf) => (0, leaf_weight(*leaf)),
                None => (0, 1),
            };
            top.depth = top.depth.max(depth + 1);
            top.expansion = top.expansion.saturating_add(expansion);
            if top.depth as usize > MAX_DEPTH {
                return Err(at.capacity(Capacity::Depth, MAX_DEPTH));
            }
            if top.expansion > self.expansion {
                return Err(at.capacity(Capacity::Expansion, self.expansion as usize));
            }
        }
        Ok(())
    }
}
