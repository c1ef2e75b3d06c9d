//! The general pickle machine: one run over the input, one opcode at a time, into the
//! decoder's arena. The loop, the stack, the memo and argument reading live here; the
//! opcode families in `leaves` (numbers, strings, bytes), `containers` and `globals`, the
//! checks at STOP in `shared`.

use crate::pickle::error::{Capacity, Error};
use crate::pickle::opcodes::{le_u64, Opcode};

use crate::pickle::number;

use super::arena::{Id, Node, NodeId, NIL};
use super::fault::{Fault, Name, Record, Stop};
use super::{Arena, Storage};

/// A MARK on the stack.
pub(super) const MARK_ENTRY: Id = NIL;

/// How many of the topmost MARKs the machine remembers the stack index of (deeper ones
/// are found by searching the stack).
pub(super) const MARKS: usize = 16;

/// One run of the pickle machine.
pub(super) struct Machine<'d, 'i, A: Arena> {
    pub(super) d: &'d mut Storage<A>,
    pub(super) input: &'i [u8],
    /// Where the next opcode or argument is read, for [`step`](Self::step) and the family
    /// functions; while the inline arms run, the loop keeps it in [`Hot`] instead.
    pub(super) pos: usize,
    /// A container was pushed a second time (GET or DUP): check cycles, depth, expansion.
    pub(super) shared: bool,
    /// A dict or set (1), a frozenset (2) got a second key: merge equal keys and order
    /// sets at STOP.
    pub(super) keyed: u8,
    /// The protocol a PROTO opcode named (0 without one), as CPython's `Unpickler.proto`.
    pub(super) proto: u8,
    /// Memo slots below the last one filled that hold nothing (a PUT past the end): the
    /// memo's length less these is CPython's `len(memo)`, where MEMOIZE stores. Kept as a
    /// count of holes so that the inline arms test one field for 0 and update none.
    pub(super) holes: u32,
    /// Validate UTF-8 strings while decoding.
    pub(super) check_utf8: bool,
    /// The largest expanded size accepted, and the work budget for merging keys (see
    /// [`MAX_EXPANSION`](super::MAX_EXPANSION)).
    pub(super) expansion: u32,
    /// MARKs on the stack, and the stack indices of the lowest [`MARKS`] of them (on the
    /// machine's own stack frame: the decoder's storage stays as small as it was).
    pub(super) open: usize,
    pub(super) marks: [u32; MARKS],
    /// The fault that stopped the run, where it arose (see [`Record`]).
    pub(super) fault: Record,
}

/// The loop's hot state, in locals (so in registers) while the inline arms run: the
/// machine's address escapes to [`step`](Machine::step), so a field of it is stored back at
/// every opcode (measured: 4 of the dispatch's 15 instructions). The loop hands `pos` to
/// the machine before `step` and takes it back after.
#[derive(Clone, Copy)]
pub(super) struct Hot<'i> {
    pub(super) pos: usize,
    /// The input the inline arms read: up to the current FRAME's end while inside one (an
    /// arm declines a read past it, and its family function checks the frame), else all.
    pub(super) window: &'i [u8],
}

/// The opcode being executed and its offset, for error reports.
#[derive(Clone, Copy)]
pub(super) struct At {
    pub(super) op: Opcode,
    pub(super) offset: usize,
}

pub(super) use crate::pickle::opcodes::op;

impl<'i, A: Arena> Machine<'_, 'i, A> {
    /// The loop: the common opcodes of the binary protocols run inline (feature `fast`,
    /// [`fast_run`](Self::fast_run)) when nothing can fail; anything else (another opcode,
    /// a full table, a malformed argument) runs through [`step`](Self::step) from the
    /// opcode's start, which gives the exact result and error. An inline arm that declines
    /// has changed nothing.
    /// `h`: where the loop starts (the machine's entry read what is before).
    pub(super) fn run(mut self, mut h: Hot<'i>) -> Result<(NodeId, usize), Error> {
        loop {
            if cfg!(feature = "fast") {
                h = self.fast_run(h);
            }
            // Read in the window: only the opcode after a FRAME's end needs the input.
            let byte = match h.window.get(h.pos) {
                Some(&byte) => byte,
                None => self.past_window(h.pos)?,
            };
            h.pos += 1;
            self.pos = h.pos;
            if byte == op::STOP {
                return self.stop(At {
                    op: Opcode::STOP,
                    offset: h.pos - 1,
                });
            }
            self.slow()?;
            h = self.hot();
        }
    }

    /// The opcode just before `pos`, through [`step`](Self::step) (its byte is read again:
    /// the loop keeps fewer values live).
    #[inline(never)]
    fn slow(&mut self) -> Result<(), Error> {
        let offset = self.pos - 1;
        let byte = self.input.get(offset).copied().unwrap_or(0);
        let op = Opcode::from_byte(byte).ok_or(Error::UnknownOpcode { byte, offset })?;
        let at = At { op, offset };
        self.step(at).map_err(|_| self.error(at))
    }

    /// The opcode byte at `offset`, past the window.
    #[cold]
    #[inline(never)]
    fn past_window(&self, offset: usize) -> Result<u8, Error> {
        self.input
            .get(offset)
            .copied()
            .ok_or(Error::Truncated { offset })
    }

    /// The hot state at `pos`: the window is the current FRAME while inside it, else (past
    /// the frame, or none) everything.
    #[inline(always)]
    fn hot(&self) -> Hot<'i> {
        let window = match self.input.get(..self.d.frame_end) {
            Some(frame) if self.pos < self.d.frame_end => frame,
            _ => self.input,
        };
        Hot {
            pos: self.pos,
            window,
        }
    }

    /// STOP: the root, with keys merged and shared structure checked. Inline: out of line
    /// it costs a call and a frame per pickle (~30 instructions on the client id). Every
    /// refusal is recorded by `stopped` and made an [`Error`] here, in one place (flash: one
    /// error built, not one per check).
    #[inline(always)]
    fn stop(&mut self, at: At) -> Result<(NodeId, usize), Error> {
        match self.stopped() {
            Ok(root) => Ok((root, self.pos)),
            Err(Stop { .. }) => Err(self.error(at)),
        }
    }

    /// [`stop`](Self::stop)'s checks, each refusal recorded: the root.
    #[inline(always)]
    fn stopped(&mut self) -> Result<NodeId, Stop> {
        let root = self.pop()?;
        match self.node(root) {
            Node::Builtin(_) => return Err(self.bad_stack("a global is not data")),
            Node::Global(_) if !self.d.stubs => return Err(self.bad_stack("a global is not data")),
            _ => {}
        }
        if self.keyed != 0 {
            self.merge_keys()?;
        }
        if self.shared {
            self.check_shared(root)?;
        }
        #[cfg(feature = "objects")]
        if self.d.globals_linked && !self.d.stubs {
            self.check_no_loose_globals(root)?;
        }
        // Its shape, for the next message (`shape.rs`).
        #[cfg(feature = "fast")]
        if self.keyed == 0 && !self.shared && self.holes == 0 && self.check_utf8 {
            super::shape::stopped(self.d, self.input, root, self.pos);
        }
        Ok(root)
    }

    /// The [`Error`] of the fault recorded, raised by the opcode `at`.
    fn error(&self, at: At) -> Error {
        self.fault.error(at, self.input)
    }

    // ---- faults: recorded in the machine where they arise (see [`Record`]) ----

    /// Records `fault`; the caller returns `Err` of the [`Stop`].
    #[inline(always)]
    pub(super) fn fail(&self, fault: Fault) -> Stop {
        self.fault.fail(fault)
    }

    /// [`Error::InvalidArgument`] of `reason`.
    pub(super) fn arg(&self, reason: &'static str) -> Stop {
        self.fail(Fault::InvalidArgument(reason))
    }

    /// [`Error::InvalidStack`] of `reason`.
    pub(super) fn bad_stack(&self, reason: &'static str) -> Stop {
        self.fail(Fault::InvalidStack(reason))
    }

    /// [`Error::Capacity`] of `what`, whose limit is `limit`.
    pub(super) fn capacity(&self, what: Capacity, limit: usize) -> Stop {
        self.fail(Fault::Capacity { what, limit })
    }

    /// [`Error::Refused`] of `global`.
    pub(super) fn refuse(&self, global: Option<Name>) -> Stop {
        self.fail(Fault::refused(global))
    }

    /// Executes one opcode other than STOP (each family's function is inlined here).
    fn step(&mut self, at: At) -> Result<(), Stop> {
        use Opcode::*;
        match at.op {
            PROTO | FRAME => self.framing(at),
            MARK | POP | POP_MARK | DUP => self.stack_op(at),
            NONE | NEWTRUE | NEWFALSE | INT | LONG | BININT | BININT1 | BININT2 | LONG1 | LONG4
            | FLOAT | BINFLOAT => self.number(at),
            STRING | BINSTRING | SHORT_BINSTRING | UNICODE | BINUNICODE | SHORT_BINUNICODE
            | BINUNICODE8 => self.text(at),
            BINBYTES | SHORT_BINBYTES | BINBYTES8 | BYTEARRAY8 => self.bytes(at),
            EMPTY_LIST | EMPTY_TUPLE | EMPTY_DICT | EMPTY_SET | LIST | TUPLE | FROZENSET | DICT
            | TUPLE1 | TUPLE2 | TUPLE3 => self.build(at),
            APPEND | SETITEM | APPENDS | SETITEMS | ADDITEMS => self.fill(at),
            PUT | BINPUT | LONG_BINPUT | MEMOIZE | GET | BINGET | LONG_BINGET => self.memo_op(at),
            GLOBAL | STACK_GLOBAL | REDUCE | INST | NEWOBJ | NEWOBJ_EX | OBJ | BUILD => {
                self.global_op(at)
            }
            // Everything else imports, calls, or reaches outside the pickle.
            _ => Err(self.refuse(None)),
        }
    }

    /// PROTO, FRAME.
    #[inline(always)]
    fn framing(&mut self, at: At) -> Result<(), Stop> {
        use Opcode::*;
        match at.op {
            PROTO => {
                // One byte.
                let version = self.fixed(at)? as u8;
                if version > 5 {
                    return Err(self.fail(Fault::UnsupportedProtocol(version)));
                }
                self.proto = version;
            }
            FRAME => {
                // Frames only group opcodes for buffered reading; the slice is already whole.
                // As CPython does, refuse a frame that claims more bytes than there are.
                let len = self.fixed(at)?;
                if len > (self.input.len() - self.pos) as u64 {
                    return Err(self.fail(Fault::Truncated));
                }
                // As pickle.py's `_Unframer.load_frame` (frames follow each other).
                if self.pos < self.d.frame_end {
                    return Err(self.arg("beginning of a new frame before end of current frame"));
                }
                self.d.frame_end = self.pos + len as usize;
            }
            _ => return Err(self.refuse(None)),
        }
        Ok(())
    }

    /// MARK, POP, POP_MARK, DUP.
    #[inline(always)]
    fn stack_op(&mut self, at: At) -> Result<(), Stop> {
        use Opcode::*;
        match at.op {
            MARK => {
                let index = self.d.stack.len();
                self.push_raw(MARK_ENTRY)?;
                self.opened_mark(index);
            }
            POP => {
                let top = self
                    .d
                    .stack
                    .pop()
                    .ok_or_else(|| self.bad_stack("stack is empty"))?;
                if top == MARK_ENTRY {
                    self.open -= 1;
                }
            }
            POP_MARK => {
                let mark = self.find_mark()?;
                self.closed_mark(mark);
            }
            DUP => {
                let top = *self
                    .d
                    .stack
                    .last()
                    .ok_or_else(|| self.bad_stack("stack is empty"))?;
                if top == MARK_ENTRY {
                    return Err(self.bad_stack("DUP of a MARK"));
                }
                self.note_shared(top);
                self.push_raw(top)?;
            }
            _ => return Err(self.refuse(None)),
        }
        Ok(())
    }

    /// PUT, BINPUT, LONG_BINPUT, MEMOIZE; GET, BINGET, LONG_BINGET.
    #[inline(always)]
    fn memo_op(&mut self, at: At) -> Result<(), Stop> {
        use Opcode::*;
        match at.op {
            PUT | BINPUT | LONG_BINPUT | MEMOIZE => {
                // BINPUT's 1 byte, LONG_BINPUT's 4.
                let index = match at.op {
                    PUT => self.line_index()?,
                    MEMOIZE => (self.d.memo.len() - self.holes as usize) as u32,
                    _ => self.fixed(at)? as u32,
                };
                let top = *self
                    .d
                    .stack
                    .last()
                    .ok_or_else(|| self.bad_stack("stack is empty"))?;
                if top == MARK_ENTRY {
                    return Err(self.bad_stack("cannot memoize a MARK"));
                }
                self.memo_put(index, top)?;
            }
            GET | BINGET | LONG_BINGET => {
                // BINGET's 1 byte, LONG_BINGET's 4.
                let index = match at.op {
                    GET => self.line_index()?,
                    _ => self.fixed(at)? as u32,
                };
                let id = self
                    .d
                    .memo
                    .get(index as usize)
                    .copied()
                    .filter(|&id| id != NIL)
                    .ok_or_else(|| self.fail(Fault::MemoMissing(index)))?;
                self.note_shared(id);
                self.push_raw(id)?;
            }
            _ => return Err(self.refuse(None)),
        }
        Ok(())
    }

    // ---- reading arguments ----

    /// The next `n` input bytes: all inside the current FRAME, or none ([`Fault::FrameExhausted`]).
    pub(super) fn take(&mut self, n: usize) -> Result<&'i [u8], Stop> {
        if self.crosses_frame(n as u64) {
            return Err(self.fail(Fault::FrameExhausted));
        }
        let end = self.pos.checked_add(n);
        let bytes = end
            .and_then(|end| self.input.get(self.pos..end))
            .ok_or_else(|| self.fail(Fault::Truncated))?;
        self.pos += n;
        Ok(bytes)
    }

    /// Whether reading `n` bytes starts inside the current FRAME and ends past it, which
    /// pickle.py's `_Unframer` refuses (a read starting at the frame's end leaves the frame).
    #[cfg_attr(feature = "fast", inline(always))]
    fn crosses_frame(&self, n: u64) -> bool {
        self.pos < self.d.frame_end && n > (self.d.frame_end - self.pos) as u64
    }

    /// A `\n`-terminated argument, without the `\n`; inside a FRAME, the `\n` too.
    pub(super) fn line(&mut self) -> Result<&'i [u8], Stop> {
        let end = if self.pos < self.d.frame_end {
            self.d.frame_end
        } else {
            self.input.len()
        };
        let rest = self.input.get(self.pos..end).unwrap_or(&[]);
        let Some(n) = rest.iter().position(|&b| b == b'\n') else {
            return Err(self.fail(if end < self.input.len() {
                Fault::FrameExhausted
            } else {
                Fault::Truncated
            }));
        };
        let line = self.take(n)?;
        self.pos += 1;
        Ok(line)
    }

    /// The next `N` input bytes.
    #[cfg_attr(feature = "fast", inline(always))]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Stop> {
        let bytes = self.take(N)?;
        // Cannot fail: `take` returned `N` bytes.
        bytes.try_into().map_err(|_| self.fail(Fault::Truncated))
    }

    /// The argument of a fixed-width opcode, or the length of a counted one, as a
    /// little-endian unsigned number: as many bytes as the opcode table says (BINFLOAT's
    /// big-endian bytes are swapped back by its caller). One function for every width (the
    /// smallest lab firmware linked one copy per array width: flash).
    #[cfg_attr(feature = "fast", inline(always))]
    pub(super) fn fixed(&mut self, at: At) -> Result<u64, Stop> {
        let width = at.op.arg().width();
        // With `fast`, one branch per width (a loop over the width costs ~4% on a 3.6 KB
        // message); without it, the loop (flash).
        Ok(match width {
            _ if !cfg!(feature = "fast") => le_u64(self.take(width)?),
            1 => u64::from(self.array::<1>()?[0]),
            2 => u16::from_le_bytes(self.array()?).into(),
            4 => u32::from_le_bytes(self.array()?).into(),
            _ => u64::from_le_bytes(self.array()?),
        })
    }

    /// The length argument of a counted opcode (width and sign from the opcode table).
    #[cfg_attr(feature = "fast", inline(always))]
    pub(super) fn count(&mut self, at: At) -> Result<usize, Stop> {
        let raw = self.fixed(at)?;
        let n = at
            .op
            .arg()
            .length(raw)
            .ok_or_else(|| self.arg("negative length"))?;
        if self.crosses_frame(n) {
            return Err(self.fail(Fault::FrameExhausted));
        }
        // Longer than what is left: truncated (checked here so huge claims never overflow).
        let left = self.input.len() - self.pos;
        if n > left as u64 {
            return Err(self.fail(Fault::Truncated));
        }
        Ok(n as usize)
    }

    /// A decimal memo index (GET, PUT).
    pub(super) fn line_index(&mut self) -> Result<u32, Stop> {
        let line = self.line()?;
        let (negative, digits) = number::split_decimal(line).map_err(|r| self.arg(r))?;
        number::digits_to_i64(negative, digits)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| self.arg("memo index out of range"))
    }

    // ---- the stack and the arena ----

    pub(super) fn node(&self, id: NodeId) -> Node {
        self.d.nodes.get(id as usize).copied().unwrap_or(Node::None)
    }

    pub(super) fn push_raw(&mut self, id: Id) -> Result<(), Stop> {
        let stack = &mut self.d.stack;
        let limit = stack.capacity();
        stack
            .push(id)
            .map_err(|_| self.capacity(Capacity::Stack, limit))
    }

    /// Pushes a new node (one copy for every opcode family: flash).
    #[inline(never)]
    pub(super) fn push_node(&mut self, node: Node) -> Result<(), Stop> {
        let id = self.alloc(node)?;
        self.push_raw(id)
    }

    pub(super) fn alloc(&mut self, node: Node) -> Result<NodeId, Stop> {
        self.d
            .nodes
            .push_id(node)
            .map_err(|limit| self.capacity(Capacity::Values, limit))
    }

    /// Pops one item (not a MARK).
    pub(super) fn pop(&mut self) -> Result<NodeId, Stop> {
        match self.d.stack.pop() {
            Some(MARK_ENTRY) => Err(self.bad_stack("a MARK where an item was expected")),
            Some(id) => Ok(id),
            None => Err(self.bad_stack("stack is empty")),
        }
    }

    /// The stack index of the topmost MARK.
    pub(super) fn find_mark(&self) -> Result<usize, Stop> {
        match self.known_mark() {
            Some(mark) => Ok(mark),
            None => self
                .d
                .stack
                .iter()
                .rposition(|&e| e == MARK_ENTRY)
                .ok_or_else(|| self.bad_stack("no MARK on the stack")),
        }
    }

    /// The stack index of the topmost MARK if the machine remembers it (`None`: no MARK,
    /// or more than [`MARKS`] of them).
    #[inline(always)]
    pub(super) fn known_mark(&self) -> Option<usize> {
        let i = self.open.checked_sub(1)?;
        self.marks.get(i).map(|&m| m as usize)
    }

    /// A MARK was pushed at stack index `index`.
    #[inline(always)]
    pub(super) fn opened_mark(&mut self, index: usize) {
        if let Some(slot) = self.marks.get_mut(self.open) {
            *slot = index as u32;
        }
        self.open += 1;
    }

    /// The topmost MARK, at stack index `mark`, and everything above it are gone.
    #[inline(always)]
    pub(super) fn closed_mark(&mut self, mark: usize) {
        self.d.stack.truncate(mark);
        self.open -= 1;
    }

    /// A container pushed again: its structure may now be shared or cyclic.
    pub(super) fn note_shared(&mut self, id: NodeId) {
        if let Node::Container(_) = self.node(id) {
            self.shared = true;
        }
    }

    pub(super) fn memo_put(&mut self, index: u32, id: NodeId) -> Result<(), Stop> {
        let index = index as usize;
        let limit = self.d.memo.capacity();
        // Refused before any slot is filled (an index far past the input's allowance would
        // otherwise fill the memo up to its limit first).
        if index >= limit {
            return Err(self.capacity(Capacity::Memo, limit));
        }
        while self.d.memo.len() <= index {
            if self.d.memo.push(NIL).is_err() {
                return Err(self.capacity(Capacity::Memo, limit));
            }
            self.holes += 1;
        }
        if let Some(slot) = self.d.memo.get_mut(index) {
            if *slot == NIL {
                self.holes -= 1;
            }
            *slot = id;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::super::Decoder;
    use crate::pickle::error::Error;

    /// A BINPUT past the memo's end leaves holes: MEMOIZE stores at CPython's `len(memo)`
    /// (the slots filled), so the third MEMOIZE here overwrites slot 3. CPython 3.11:
    /// `pickle.loads(b)` is `(1, 2, 3, 4, 4, 2)`; with `h\x00` instead of `h\x01`,
    /// `UnpicklingError('Memo value not found at index 0')`.
    #[test]
    fn memoize_after_a_hole_stores_at_the_count_of_filled_slots() {
        let mut d: Decoder = Decoder::new();
        let b = b"\x80\x04(K\x01q\x03K\x02\x94K\x03\x94K\x04\x94h\x03h\x01t.";
        let v = d.decode(b).unwrap();
        #[cfg(feature = "repr")]
        assert_eq!(std::string::ToString::to_string(&v), "(1, 2, 3, 4, 4, 2)");
        let crate::pickle::Value::Tuple(items) = v else {
            panic!("not a tuple: {v:?}");
        };
        let ints: std::vec::Vec<_> = items.iter().map(|item| item.as_i64()).collect();
        assert_eq!(ints, [1, 2, 3, 4, 4, 2].map(Some));
        let b = b"\x80\x04(K\x01q\x03K\x02\x94K\x03\x94K\x04\x94h\x03h\x00t.";
        assert!(matches!(
            d.decode(b),
            Err(Error::MemoMissing { index: 0, .. })
        ));
    }
}
