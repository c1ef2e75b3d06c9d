//! The checks at STOP: equal dict keys and set items merged (see [`keys`](crate::pickle::keys)),
//! and, when a container was pushed twice (memo GET or DUP), one walk of the value that
//! marks cycles where Python's repr prints `[...]` and computes exact depth and expansion.

use heapless::Vec;

use crate::pickle::error::Capacity;
use crate::pickle::keys::{Halt, Keys, Scratch};

/// Why a pickle is refused without the `any-keys` feature (see [`Halt::KeyType`]).
#[cfg(not(feature = "any-keys"))]
const KEY_TYPE: &str = "a dict key or set item other than str, int, bool or None beside another: \
     Python's equality for it is left out of this build (brine-core feature `any-keys`)";

use super::arena::{leaf_weight, Container, ContainerKind, Id, Node, NodeId, CYCLE};
use super::fault::{Fault, Stop};
use super::machine::Machine;
use super::Arena;
use super::MAX_DEPTH;

impl<A: Arena> Machine<'_, '_, A> {
    /// Merges equal dict keys and set items and puts sets in CPython's order (see
    /// [`keys`](crate::pickle::keys)), in the storage the machine no longer needs. Fails only
    /// when that work exceeds the expansion limit ([`MAX_EXPANSION`](super::MAX_EXPANSION) units
    /// for a [`Decoder`](super::Decoder)).
    pub(super) fn merge_keys(&mut self) -> Result<(), Stop> {
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
        .map_err(|halt| match halt {
            Halt::OverBudget => self.capacity(Capacity::Expansion, self.expansion as usize),
            #[cfg(not(feature = "any-keys"))]
            Halt::KeyType => self.arg(KEY_TYPE),
        })
    }

    // ---- shared structure: cycles, depth, expansion ----

    /// Walks the value from `root` once (iteratively) when containers were shared: computes
    /// exact depth and expansion (bounded by [`MAX_DEPTH`] and the expansion limit), and
    /// turns each cycle into what Python's repr prints for it.
    ///
    /// An item that is a container on the path from the root to it (a list that contains
    /// itself, a dict whose value holds the dict) is where repr prints `[...]`, `{...}` or
    /// `(...)`: that edge is pointed at a new, empty node marked [`CYCLE`] (the value
    /// stays a finite tree; its expansion counts 1). This is exact where each container
    /// of a cycle is reached one way only (the walk's order is repr's, so the marked edges
    /// are the ones repr marks); a container of a cycle through its ancestors that is also
    /// reached another way (`[a, b]` with `a = [b]`, `b = [a]`), whose repr depends on
    /// the path, is refused ([`Error::Recursive`](crate::pickle::Error::Recursive)).
    pub(super) fn check_shared(&mut self, root: NodeId) -> Result<(), Stop> {
        struct Frame {
            node: NodeId,
            edge: Id,
            left: Id,
            depth: u8,
            expansion: u32,
            /// The lowest path index a cycle marked below this container returns to.
            reach: u16,
        }
        let mut path: Vec<Frame, { MAX_DEPTH + 1 }> = Vec::new();
        let Some(Node::Container(c)) = self.d.nodes.get_mut(root as usize) else {
            return Ok(());
        };
        c.visit = ON_PATH;
        // While on the path, `depth` holds the container's index in the path.
        c.depth = 0;
        let _ = path.push(Frame {
            node: root,
            edge: c.first,
            left: c.len,
            depth: 1,
            expansion: 1,
            reach: u16::MAX,
        });
        while let Some(top) = path.last_mut() {
            if top.left == 0 {
                // Done with this container: record and fold into the parent.
                let Some(done) = path.pop() else { break };
                let index = path.len() as u16;
                if let Some(Node::Container(c)) = self.d.nodes.get_mut(done.node as usize) {
                    c.visit = if done.reach < index { IN_CYCLE } else { DONE };
                    c.depth = done.depth;
                    c.expansion = done.expansion;
                }
                if let Some(parent) = path.last_mut() {
                    parent.depth = parent.depth.max(done.depth + 1);
                    parent.expansion = parent.expansion.saturating_add(done.expansion);
                    parent.reach = parent.reach.min(done.reach);
                }
                continue;
            }
            let edge = top.edge;
            let Some(&e) = self.d.edges.get(edge as usize) else {
                top.left = 0;
                continue;
            };
            let child = e.child;
            top.edge = e.next(edge);
            top.left -= 1;
            let index = path.len() as u16;
            let (depth, expansion) = match self.d.nodes.get_mut(child as usize) {
                Some(Node::Container(c)) => match c.visit {
                    UNSEEN => {
                        c.visit = ON_PATH;
                        c.depth = index as u8;
                        let frame = Frame {
                            node: child,
                            edge: c.first,
                            left: c.len,
                            depth: 1,
                            expansion: 1,
                            reach: u16::MAX,
                        };
                        path.push(frame)
                            .map_err(|_| self.capacity(Capacity::Depth, MAX_DEPTH))?;
                        continue;
                    }
                    ON_PATH => {
                        // A cycle: repr prints `[...]` here.
                        let (kind, back_to) = (c.kind, c.depth);
                        let marker = Container {
                            first: CYCLE,
                            depth: 0,
                            visit: DONE,
                            ..Container::empty(kind)
                        };
                        let id = self
                            .d
                            .nodes
                            .push_id(Node::Container(marker))
                            .map_err(|limit| self.capacity(Capacity::Values, limit))?;
                        if let Some(e) = self.d.edges.get_mut(edge as usize) {
                            e.child = id;
                        }
                        if let Some(top) = path.last_mut() {
                            top.reach = top.reach.min(u16::from(back_to));
                        }
                        (0, 1)
                    }
                    IN_CYCLE => return Err(self.fail(Fault::Recursive)),
                    _ => (c.depth, c.expansion),
                },
                Some(leaf) => (0, leaf_weight(*leaf)),
                None => (0, 1),
            };
            let Some(top) = path.last_mut() else { break };
            top.depth = top.depth.max(depth + 1);
            top.expansion = top.expansion.saturating_add(expansion);
            if top.depth as usize > MAX_DEPTH {
                return Err(self.capacity(Capacity::Depth, MAX_DEPTH));
            }
            if top.expansion > self.expansion {
                return Err(self.capacity(Capacity::Expansion, self.expansion as usize));
            }
        }
        Ok(())
    }
}

/// [`Container::visit`] during [`Machine::check_shared`]: not reached yet; on the path
/// from the root; done; done, and part of a cycle through a container above it.
const UNSEEN: u8 = 0;
const ON_PATH: u8 = 1;
const DONE: u8 = 2;
const IN_CYCLE: u8 = 3;
