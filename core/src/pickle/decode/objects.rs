//! The machine's hook for objects (see [`objects`]): GLOBAL and
//! STACK_GLOBAL of a name other than the data builtins, REDUCE of such a global, NEWOBJ,
//! NEWOBJ_EX, OBJ, INST, BUILD, and items added to an object. Standard types are checked
//! against the shapes CPython writes (`objects::shape`); other classes become inert stubs
//! when the decoder allows them, and are refused otherwise. Nothing is looked up or called.
//! An object costs one node and six items (its slots) of the decoder's capacities, and
//! counts in depth and expansion as a container of its slots.

use crate::pickle::error::{Capacity, GLOBAL_NAME_LEN};
use crate::pickle::objects::{self, shape, Class, Slot, SLOTS};
use crate::pickle::opcodes::Opcode;
use crate::pickle::value::{Tree, Value};

use super::arena::{
    leaf_weight, Container, ContainerKind, Edge, GlobalRef, Made, Node, NodeId, Unhashable, NIL,
};
use super::fault::{Fault, Name, Stop};
use super::machine::{At, Machine, MARK_ENTRY};
use super::{Arena, MAX_DEPTH};

impl<'i, A: Arena> Machine<'_, 'i, A> {
    /// The node for GLOBAL or STACK_GLOBAL of `module.name` (spans starting at input offsets
    /// `module_at` and `name_at`) when it is not a data builtin: a standard type always, any
    /// other dotted name when stubs are allowed. Refused otherwise.
    pub(super) fn global_ref(
        &self,
        (module, module_at): (&[u8], usize),
        (name, name_at): (&[u8], usize),
    ) -> Result<Node, Stop> {
        let class = match objects::lookup(module, name, self.proto) {
            Some(class) => class,
            None if self.d.stubs
                && objects::is_dotted_name(module)
                && objects::is_dotted_name(name) =>
            {
                Class::Unknown
            }
            None => {
                return Err(self.refuse(Some(Name::input((module, module_at), (name, name_at)))))
            }
        };
        let (Ok(module_len), Ok(name_len), Ok(module_start), Ok(name_start)) = (
            u8::try_from(module.len()),
            u8::try_from(name.len()),
            u32::try_from(module_at),
            u32::try_from(name_at),
        ) else {
            return Err(self.refuse(Some(Name::input((module, module_at), (name, name_at)))));
        };
        Ok(Node::Global(GlobalRef {
            module_start,
            name_start,
            module_len,
            name_len,
            class,
        }))
    }

    /// NEWOBJ, NEWOBJ_EX, OBJ, INST, BUILD.
    pub(super) fn object_op(&mut self, at: At) -> Result<(), Stop> {
        use Opcode::*;
        // A stack without the operands is refused as the opcode (it would call code).
        let pop = |m: &mut Self| m.pop().map_err(|_| m.refuse(None));
        let id = match at.op {
            NEWOBJ => {
                let args = pop(self)?;
                let class = pop(self)?;
                self.make(Made::New, class, args, NIL)?
            }
            NEWOBJ_EX => {
                let kwargs = pop(self)?;
                let args = pop(self)?;
                let class = pop(self)?;
                self.make(Made::New, class, args, kwargs)?
            }
            OBJ | INST => {
                let mark = self.find_mark().map_err(|_| self.refuse(None))?;
                let (class, first_arg) = if at.op == OBJ {
                    let class = *self
                        .d
                        .stack
                        .get(mark + 1)
                        .ok_or_else(|| self.refuse(None))?;
                    (class, mark + 2)
                } else {
                    let module_at = self.pos;
                    let module = self.line()?;
                    let name_at = self.pos;
                    let name = self.line()?;
                    let node = self.global_ref((module, module_at), (name, name_at))?;
                    (self.alloc(node)?, mark + 1)
                };
                let args = self.new_container(ContainerKind::Tuple)?;
                self.move_items(first_arg.min(self.d.stack.len()), args)?;
                self.d.stack.truncate(mark);
                self.make(Made::Call, class, args, NIL)?
            }
            BUILD => {
                let state = pop(self)?;
                let target = *self
                    .d
                    .stack
                    .last()
                    .filter(|&&id| id != MARK_ENTRY)
                    .ok_or_else(|| self.refuse(None))?;
                return self.set_state(target, state);
            }
            _ => return Err(self.refuse(None)),
        };
        self.push_raw(id)
    }

    /// REDUCE of a global other than the data builtins.
    pub(super) fn reduce_object(
        &mut self,
        g: GlobalRef,
        callable: NodeId,
        args: NodeId,
    ) -> Result<NodeId, Stop> {
        if g.class != Class::Reconstructor {
            return self.make(Made::Call, callable, args, NIL);
        }
        // copyreg._reconstructor(cls, base, state), as protocols 0-1 write objects of
        // plain classes: `object.__new__(cls)` for base `object` (state None), else
        // `base.__new__(cls, state)` for a builtin base (a namedtuple's `tuple` and its
        // items): shown as `__new__`'s arguments, as NEWOBJ gives them.
        let refuse = || self.refused(g);
        let items = self.tuple_items::<3>(args).ok_or_else(refuse)?;
        let &[class, base, state] = items.as_slice() else {
            return Err(refuse());
        };
        let Node::Global(base) = self.node(base) else {
            return Err(refuse());
        };
        let state_node = self.node(state);
        let new_args = match (base.class, state_node) {
            (Class::Object, Node::None) => self.new_container(ContainerKind::Tuple)?,
            (Class::Tuple, Node::Container(c)) if c.kind == ContainerKind::Tuple => state,
            (Class::List | Class::Dict | Class::Int | Class::Str | Class::Float, _) => {
                let one = self.new_container(ContainerKind::Tuple)?;
                self.add_child(one, state)?;
                one
            }
            _ => return Err(refuse()),
        };
        self.make(Made::New, class, new_args, NIL)
    }

    /// A new object of the global `class`, made as `made` with `args` (a tuple) and `kwargs`
    /// (a dict, or NIL): a standard type in a shape CPython writes, or a stub.
    fn make(
        &mut self,
        made: Made,
        class: NodeId,
        args: NodeId,
        kwargs: NodeId,
    ) -> Result<NodeId, Stop> {
        let Node::Global(g) = self.node(class) else {
            return Err(self.refuse(None));
        };
        if !matches!(self.node(args), Node::Container(c) if c.kind == ContainerKind::Tuple) {
            return Err(self.refused(g));
        }
        if kwargs != NIL
            && !matches!(self.node(kwargs), Node::Container(c) if c.kind == ContainerKind::Dict)
        {
            return Err(self.refused(g));
        }
        match g.class {
            Class::Unknown => {}
            known => {
                let Value::Tuple(items) = self.tree().value(args) else {
                    return Err(self.refused(g));
                };
                let ok = kwargs == NIL && shape::args_fit(known, made == Made::New, items);
                if !ok {
                    return Err(self.refused(g));
                }
            }
        }
        let id = self.alloc(Node::Container(Container::empty(ContainerKind::Object(
            made,
        ))))?;
        // Six slots, each the class node (empty) until set.
        let first = self.d.edges.len();
        for k in 0..SLOTS {
            let edge = if k + 1 < SLOTS {
                Edge::adjacent(class)
            } else {
                Edge::new((first + k) as super::arena::Id, class, NIL)
            };
            self.d
                .edges
                .push_id(edge)
                .map_err(|limit| self.capacity(Capacity::Items, limit))?;
        }
        if let Some(Node::Container(c)) = self.d.nodes.get_mut(id as usize) {
            c.first = first as super::arena::Id;
            c.last = (first + SLOTS - 1) as super::arena::Id;
            c.len = SLOTS as super::arena::Id;
            // What CPython refuses as a dict key or set item (`TypeError: unhashable type`).
            c.unhashable = match g.class {
                Class::OrderedDict | Class::Counter | Class::Deque | Class::DefaultDict => {
                    Unhashable::Collection
                }
                _ => Unhashable::No,
            };
        }
        self.set_slot(id, Slot::Args, args)?;
        if kwargs != NIL {
            self.set_slot(id, Slot::Kwargs, kwargs)?;
        }
        self.refresh(id)?;
        Ok(id)
    }

    /// BUILD: the state of an object (once), checked for a standard type.
    fn set_state(&mut self, target: NodeId, state: NodeId) -> Result<(), Stop> {
        let Node::Container(Container {
            kind: ContainerKind::Object(_),
            ..
        }) = self.node(target)
        else {
            return Err(self.refuse(None));
        };
        let object = self.view(target);
        let g = self.global_of(target);
        if object.state().is_some() {
            return Err(self.bad_stack("an object's state set twice"));
        }
        if g.class != Class::Unknown && !shape::state_fits(g.class, self.tree().value(state)) {
            return Err(self.refused(g));
        }
        self.set_slot(target, Slot::State, state)?;
        self.refresh(target)
    }

    /// The list (`want` List) or dict (`want` Dict) that items added to object `id` go
    /// into, made on first use: refused for standard types that take no such items.
    pub(super) fn object_items(&mut self, id: NodeId, want: ContainerKind) -> Result<NodeId, Stop> {
        let g = self.global_of(id);
        let slot = match want {
            ContainerKind::List => Slot::List,
            ContainerKind::Dict => Slot::Dict,
            _ => return Err(self.bad_stack("items added to an object")),
        };
        if !shape::takes_items(g.class, slot) {
            return Err(self.refused(g));
        }
        if let Some(items) = self.view(id).slot(slot) {
            return Ok(items);
        }
        let items = self.new_container(want)?;
        self.set_slot(id, slot, items)?;
        Ok(items)
    }

    /// After items were added to the value below stack index `index`: if it is an object,
    /// [`object_items_added`](Self::object_items_added).
    pub(super) fn filled(&mut self, index: usize) -> Result<(), Stop> {
        let id = self.below(index)?;
        match self.node(id) {
            Node::Container(c) if matches!(c.kind, ContainerKind::Object(_)) => {
                self.object_items_added(id)
            }
            _ => Ok(()),
        }
    }

    /// After items were added to object `id`'s list or dict: its totals, and the bound a
    /// standard type sets (a deque's `maxlen`).
    pub(super) fn object_items_added(&mut self, id: NodeId) -> Result<(), Stop> {
        let g = self.global_of(id);
        if g.class != Class::Unknown && !shape::items_fit(self.view(id)) {
            return Err(self.refused(g));
        }
        self.refresh(id)
    }

    /// Sets `slot` of object `id` to `child`.
    fn set_slot(&mut self, id: NodeId, slot: Slot, child: NodeId) -> Result<(), Stop> {
        if let Node::Builtin(_) = self.node(child) {
            return Err(self.bad_stack("a global is not data"));
        }
        let Node::Container(c) = self.node(id) else {
            return Err(self.bad_stack("not an object"));
        };
        let mut edge = c.first;
        for _ in 0..slot as usize {
            edge = self
                .d
                .edges
                .get(edge as usize)
                .map_or(NIL, |e| e.next(edge));
        }
        match self.d.edges.get_mut(edge as usize) {
            Some(e) => e.child = child,
            None => return Err(self.bad_stack("not an object")),
        }
        Ok(())
    }

    /// Recomputes object `id`'s depth and expansion from its slots (they change after it
    /// was made; the object is on the stack, so no parent has counted it yet, or it was
    /// shared and STOP's walk recounts).
    fn refresh(&mut self, id: NodeId) -> Result<(), Stop> {
        let Node::Container(mut c) = self.node(id) else {
            return Ok(());
        };
        let (mut depth, mut expansion) = (1u8, 1u32);
        let mut edge = c.first;
        for _ in 0..c.len {
            let Some(&e) = self.d.edges.get(edge as usize) else {
                break;
            };
            let (child, next) = (e.child, e.next(edge));
            let (d, w) = match self.node(child) {
                Node::Container(k) if child != id => (k.depth, k.expansion),
                Node::Container(_) => return Err(self.fail(Fault::Recursive)),
                leaf => (0, leaf_weight(leaf)),
            };
            depth = depth.max(d + 1);
            expansion = expansion.saturating_add(w);
            edge = next;
        }
        if usize::from(depth) > MAX_DEPTH {
            return Err(self.capacity(Capacity::Depth, MAX_DEPTH));
        }
        if expansion > self.expansion {
            return Err(self.capacity(Capacity::Expansion, self.expansion as usize));
        }
        c.depth = depth;
        c.expansion = expansion;
        if let Some(node) = self.d.nodes.get_mut(id as usize) {
            *node = Node::Container(c);
        }
        Ok(())
    }

    /// At STOP, when globals were linked into containers and stubs are not allowed: refuses
    /// a global reachable as data (anywhere but an object's class and a `defaultdict`'s
    /// factory). The walk visits at most the value's expanded size.
    pub(super) fn check_no_loose_globals(&self, root: NodeId) -> Result<(), Stop> {
        /// A container being walked: next edge, items left, items still to skip (an
        /// object's class, a defaultdict's args), the object's class node (its empty slots).
        type Frame = (super::arena::Id, super::arena::Id, u8, NodeId);
        let mut path: heapless::Vec<Frame, { MAX_DEPTH + 1 }> = heapless::Vec::new();
        let mut child = root;
        loop {
            match self.node(child) {
                Node::Global(_) => return Err(self.bad_stack("a global is not data")),
                Node::Container(c) => {
                    let (skip, class) = match c.kind {
                        ContainerKind::Object(_) => {
                            let class = self.d.edges.get(c.first as usize).map_or(NIL, |e| e.child);
                            let skip = if self.global_of(child).class == Class::DefaultDict {
                                2
                            } else {
                                1
                            };
                            (skip, class)
                        }
                        _ => (0, NIL),
                    };
                    path.push((c.first, c.len, skip, class))
                        .map_err(|_| self.capacity(Capacity::Depth, MAX_DEPTH))?;
                }
                _ => {}
            }
            // The next child to look at.
            loop {
                let Some(top) = path.last_mut() else {
                    return Ok(());
                };
                let (edge, left, skip, class) = *top;
                let Some(&e) = self.d.edges.get(edge as usize).filter(|_| left > 0) else {
                    path.pop();
                    continue;
                };
                let (next_child, next) = (e.child, e.next(edge));
                *top = (next, left - 1, skip.saturating_sub(1), class);
                if skip == 0 && next_child != class {
                    child = next_child;
                    break;
                }
            }
        }
    }

    /// The global of object `id` (or `id` itself, a bare global).
    /// Python's name of the unhashable collection `id` is or holds (a tuple's first
    /// unhashable item, [`Unhashable::Collection`]), as its `TypeError` names it.
    pub(super) fn collection_name(&self, id: NodeId) -> &'static str {
        let mut id = id;
        for _ in 0..=MAX_DEPTH {
            let Node::Container(c) = self.node(id) else {
                break;
            };
            if matches!(c.kind, ContainerKind::Object(_)) {
                return match self.global_of(id).class {
                    Class::OrderedDict => "collections.OrderedDict",
                    Class::Counter => "Counter",
                    Class::Deque => "collections.deque",
                    Class::DefaultDict => "collections.defaultdict",
                    _ => "?",
                };
            }
            // A tuple: the first item that makes it unhashable.
            let mut edge = c.first;
            let mut next = NIL;
            for _ in 0..c.len {
                let Some(&e) = self.d.edges.get(edge as usize) else {
                    break;
                };
                let (child, after) = (e.child, e.next(edge));
                match self.node(child) {
                    Node::Container(k) if k.unhashable != Unhashable::No => {
                        next = child;
                        break;
                    }
                    _ => edge = after,
                }
            }
            if next == NIL {
                break;
            }
            id = next;
        }
        "?"
    }

    fn global_of(&self, id: NodeId) -> GlobalRef {
        let class = match self.node(id) {
            Node::Container(c) => self.d.edges.get(c.first as usize).map_or(NIL, |e| e.child),
            _ => id,
        };
        match self.node(class) {
            Node::Global(g) => g,
            _ => GlobalRef::NONE,
        }
    }

    /// The refusal of a call or state that does not fit `g`.
    fn refused(&self, g: GlobalRef) -> Stop {
        self.refuse(Some(match g.class.dotted() {
            Some(_) => Name::Class(g.class),
            None => Name::Input {
                module: g.module_start,
                name: g.name_start,
                module_len: g.module_len.min(GLOBAL_NAME_LEN as u8),
                name_len: g.name_len.min(GLOBAL_NAME_LEN as u8),
            },
        }))
    }

    fn tree(&self) -> Tree<'_, '_> {
        Tree {
            input: self.input,
            nodes: &self.d.nodes,
            edges: &self.d.edges,
        }
    }

    fn view(&self, id: NodeId) -> objects::Object<'_> {
        objects::Object {
            tree: self.tree(),
            id,
        }
    }
}
