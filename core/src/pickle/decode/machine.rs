//! The general pickle machine: one run over the input, one opcode at a time, into the
//! decoder's arena. The loop, the stack, the memo and argument reading live here; the
//! opcode families in `leaves` (numbers, strings, bytes), `containers` and `globals`, the
//! checks at STOP in `shared`.

use crate::pickle::error::{Capacity, Error, Global};
use crate::pickle::opcodes::Opcode;

use crate::pickle::number;

use super::arena::{Id, Node, NodeId, NIL};
use super::{Arena, Storage};

/// A MARK on the stack.
pub(super) const MARK_ENTRY: Id = NIL;

/// One run of the pickle machine.
pub(super) struct Machine<'d, 'i, A: Arena> {
    pub(super) d: &'d mut Storage<A>,
    pub(super) input: &'i [u8],
    pub(super) pos: usize,
    /// A container was pushed a second time (GET or DUP): check cycles, depth, expansion.
    pub(super) shared: bool,
    /// A dict or set (1), a frozenset (2) got a second key: merge equal keys and order
    /// sets at STOP.
    pub(super) keyed: u8,
    /// The protocol a PROTO opcode named (0 without one), as CPython's `Unpickler.proto`.
    pub(super) proto: u8,
    /// Memo slots in use (MEMOIZE stores at this index, as CPython's `len(memo)`).
    pub(super) memo_len: u32,
    /// Validate UTF-8 strings while decoding.
    pub(super) check_utf8: bool,
    /// The largest expanded size accepted, and the work budget for merging keys (see
    /// [`MAX_EXPANSION`](super::MAX_EXPANSION)).
    pub(super) expansion: u32,
}

/// The opcode being executed and its offset, for error reports.
#[derive(Clone, Copy)]
pub(super) struct At {
    pub(super) op: Opcode,
    pub(super) offset: usize,
}

impl At {
    pub(super) fn arg(self, reason: &'static str) -> Error {
        Error::InvalidArgument {
            opcode: self.op,
            offset: self.offset,
            reason,
        }
    }

    pub(super) fn stack(self, reason: &'static str) -> Error {
        Error::InvalidStack {
            opcode: self.op,
            offset: self.offset,
            reason,
        }
    }

    pub(super) fn capacity(self, what: Capacity, limit: usize) -> Error {
        Error::Capacity {
            what,
            limit,
            offset: self.offset,
        }
    }

    pub(super) fn refused(self, global: Option<Global>) -> Error {
        Error::Refused {
            opcode: self.op,
            offset: self.offset,
            global,
        }
    }
}

/// pickle.py's error for a read that starts inside a FRAME and ends past it: an opcode's
/// argument, or part of one read at once (a length, the bytes it counts, one line), may not
/// cross its frame's end. `take` and `line` return it with a placeholder opcode and offset,
/// which [`in_frame`] replaces with those of the opcode being executed.
const FRAME_EXHAUSTED: Error = Error::InvalidArgument {
    opcode: Opcode::FRAME,
    offset: usize::MAX,
    reason: "pickle exhausted before end of frame (the argument runs past its FRAME's end)",
};

/// `e`, naming the opcode `at` if it is [`FRAME_EXHAUSTED`].
#[cold]
fn in_frame(e: Error, at: At) -> Error {
    match e {
        Error::InvalidArgument {
            offset: usize::MAX,
            reason,
            ..
        } => at.arg(reason),
        e => e,
    }
}

impl<'i, A: Arena> Machine<'_, 'i, A> {
    pub(super) fn run(mut self) -> Result<(NodeId, usize), Error> {
        loop {
            let offset = self.pos;
            let byte = *self
                .input
                .get(offset)
                .ok_or_else(|| Error::Truncated { offset })?;
            let op =
                Opcode::from_byte(byte).ok_or_else(|| Error::UnknownOpcode { byte, offset })?;
            self.pos += 1;
            let at = At { op, offset };
            if op == Opcode::STOP {
                let root = self.pop(at)?;
                if let Node::Builtin(_) = self.node(root) {
                    return Err(at.stack("a global is not data"));
                }
                if self.keyed != 0 {
                    self.merge_keys(at)?;
                }
                if self.shared {
                    self.check_shared(root, at)?;
                }
                return Ok((root, self.pos));
            }
            if let Err(e) = self.step(at) {
                return Err(in_frame(e, at));
            }
        }
    }

    /// Executes one opcode other than STOP (each family's function is inlined here).
    fn step(&mut self, at: At) -> Result<(), Error> {
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
            GLOBAL | STACK_GLOBAL | REDUCE | INST => self.global_op(at),
            // Everything else imports, calls, or reaches outside the pickle.
            _ => Err(at.refused(None)),
        }
    }

    /// PROTO, FRAME.
    #[inline(always)]
    fn framing(&mut self, at: At) -> Result<(), Error> {
        use Opcode::*;
        match at.op {
            PROTO => {
                let [version] = self.fixed(at)?;
                if version > 5 {
                    return Err(Error::UnsupportedProtocol {
                        version,
                        offset: at.offset,
                    });
                }
                self.proto = version;
            }
            FRAME => {
                // Frames only group opcodes for buffered reading; the slice is already whole.
                // As CPython does, refuse a frame that claims more bytes than there are.
                let len = u64::from_le_bytes(self.fixed(at)?);
                if len > (self.input.len() - self.pos) as u64 {
                    return Err(Error::Truncated {
                        offset: self.input.len(),
                    });
                }
                // As pickle.py's `_Unframer.load_frame` (frames follow each other).
                if self.pos < self.d.frame_end {
                    return Err(at.arg("beginning of a new frame before end of current frame"));
                }
                self.d.frame_end = self.pos + len as usize;
            }
            _ => return Err(at.refused(None)),
        }
        Ok(())
    }

    /// MARK, POP, POP_MARK, DUP.
    #[inline(always)]
    fn stack_op(&mut self, at: At) -> Result<(), Error> {
        use Opcode::*;
        match at.op {
            MARK => self.push_raw(MARK_ENTRY, at)?,
            POP => {
                self.d
                    .stack
                    .pop()
                    .ok_or_else(|| at.stack("stack is empty"))?;
            }
            POP_MARK => {
                let mark = self.find_mark(at)?;
                self.d.stack.truncate(mark);
            }
            DUP => {
                let top = *self
                    .d
                    .stack
                    .last()
                    .ok_or_else(|| at.stack("stack is empty"))?;
                if top == MARK_ENTRY {
                    return Err(at.stack("DUP of a MARK"));
                }
                self.note_shared(top);
                self.push_raw(top, at)?;
            }
            _ => return Err(at.refused(None)),
        }
        Ok(())
    }

    /// PUT, BINPUT, LONG_BINPUT, MEMOIZE; GET, BINGET, LONG_BINGET.
    #[inline(always)]
    fn memo_op(&mut self, at: At) -> Result<(), Error> {
        use Opcode::*;
        match at.op {
            PUT | BINPUT | LONG_BINPUT | MEMOIZE => {
                let index = match at.op {
                    PUT => self.line_index(at)?,
                    BINPUT => self.fixed::<1>(at)?[0].into(),
                    LONG_BINPUT => u32::from_le_bytes(self.fixed(at)?),
                    _ => self.memo_len,
                };
                let top = *self
                    .d
                    .stack
                    .last()
                    .ok_or_else(|| at.stack("stack is empty"))?;
                if top == MARK_ENTRY {
                    return Err(at.stack("cannot memoize a MARK"));
                }
                self.memo_put(index, top, at)?;
            }
            GET | BINGET | LONG_BINGET => {
                let index = match at.op {
                    GET => self.line_index(at)?,
                    BINGET => self.fixed::<1>(at)?[0].into(),
                    _ => u32::from_le_bytes(self.fixed(at)?),
                };
                let id = self
                    .d
                    .memo
                    .get(index as usize)
                    .copied()
                    .filter(|&id| id != NIL)
                    .ok_or_else(|| Error::MemoMissing {
                        index,
                        offset: at.offset,
                    })?;
                self.note_shared(id);
                self.push_raw(id, at)?;
            }
            _ => return Err(at.refused(None)),
        }
        Ok(())
    }

    // ---- reading arguments ----

    /// The next `n` input bytes: all inside the current FRAME, or none (see [`in_frame`]).
    pub(super) fn take(&mut self, n: usize) -> Result<&'i [u8], Error> {
        if self.crosses_frame(n as u64) {
            return Err(FRAME_EXHAUSTED);
        }
        let end = self.pos.checked_add(n);
        let bytes = end
            .and_then(|end| self.input.get(self.pos..end))
            .ok_or_else(|| Error::Truncated {
                offset: self.input.len(),
            })?;
        self.pos += n;
        Ok(bytes)
    }

    /// Whether reading `n` bytes starts inside the current FRAME and ends past it, which
    /// pickle.py's `_Unframer` refuses (a read starting at the frame's end leaves the frame).
    #[inline(always)]
    fn crosses_frame(&self, n: u64) -> bool {
        self.pos < self.d.frame_end && n > (self.d.frame_end - self.pos) as u64
    }

    /// A `\n`-terminated argument, without the `\n`; inside a FRAME, the `\n` too.
    pub(super) fn line(&mut self) -> Result<&'i [u8], Error> {
        let end = if self.pos < self.d.frame_end {
            self.d.frame_end
        } else {
            self.input.len()
        };
        let rest = self.input.get(self.pos..end).unwrap_or(&[]);
        let Some(n) = rest.iter().position(|&b| b == b'\n') else {
            return Err(if end < self.input.len() {
                FRAME_EXHAUSTED
            } else {
                Error::Truncated {
                    offset: self.input.len(),
                }
            });
        };
        let line = self.take(n)?;
        self.pos += 1;
        Ok(line)
    }

    /// The next `N` input bytes.
    #[inline(always)]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let bytes = self.take(N)?;
        // Cannot fail: `take` returned `N` bytes.
        bytes.try_into().map_err(|_| Error::Truncated {
            offset: self.input.len(),
        })
    }

    /// The argument of a fixed-width opcode: as many bytes as the opcode table says, as an
    /// array of the width its reader expects (the two agree for every opcode; a test checks).
    #[inline(always)]
    pub(super) fn fixed<const N: usize>(&mut self, at: At) -> Result<[u8; N], Error> {
        let bytes = self.take(at.op.arg().width())?;
        bytes
            .try_into()
            .map_err(|_| at.arg("argument width disagrees with the opcode table"))
    }

    /// The length argument of a counted opcode (width and sign from the opcode table).
    #[inline(always)]
    pub(super) fn count(&mut self, at: At) -> Result<usize, Error> {
        let arg = at.op.arg();
        // One branch per width (a loop over the width costs ~4% on a 3.6 KB message).
        let raw = match arg.width() {
            1 => u64::from(self.array::<1>()?[0]),
            4 => u32::from_le_bytes(self.array()?).into(),
            _ => u64::from_le_bytes(self.array()?),
        };
        let n = arg.length(raw).ok_or_else(|| at.arg("negative length"))?;
        if self.crosses_frame(n) {
            return Err(FRAME_EXHAUSTED);
        }
        // Longer than what is left: truncated (checked here so huge claims never overflow).
        let left = self.input.len() - self.pos;
        if n > left as u64 {
            return Err(Error::Truncated {
                offset: self.input.len(),
            });
        }
        Ok(n as usize)
    }

    /// A decimal memo index (GET, PUT).
    pub(super) fn line_index(&mut self, at: At) -> Result<u32, Error> {
        let line = self.line()?;
        number::parse_decimal_int(line).map_err(|r| at.arg(r))?;
        number::decimal_to_i64(line)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| at.arg("memo index out of range"))
    }

    // ---- the stack and the arena ----

    pub(super) fn node(&self, id: NodeId) -> Node {
        self.d.nodes.get(id as usize).copied().unwrap_or(Node::None)
    }

    pub(super) fn push_raw(&mut self, id: Id, at: At) -> Result<(), Error> {
        let stack = &mut self.d.stack;
        stack
            .push(id)
            .map_err(|_| at.capacity(Capacity::Stack, stack.capacity()))
    }

    pub(super) fn push_node(&mut self, node: Node, at: At) -> Result<(), Error> {
        let id = self.alloc(node, at)?;
        self.push_raw(id, at)
    }

    pub(super) fn alloc(&mut self, node: Node, at: At) -> Result<NodeId, Error> {
        self.d
            .nodes
            .push_id(node)
            .map_err(|limit| at.capacity(Capacity::Values, limit))
    }

    /// Pops one item (not a MARK).
    pub(super) fn pop(&mut self, at: At) -> Result<NodeId, Error> {
        match self.d.stack.pop() {
            Some(MARK_ENTRY) => Err(at.stack("a MARK where an item was expected")),
            Some(id) => Ok(id),
            None => Err(at.stack("stack is empty")),
        }
    }

    /// The stack index of the topmost MARK.
    pub(super) fn find_mark(&self, at: At) -> Result<usize, Error> {
        self.d
            .stack
            .iter()
            .rposition(|&e| e == MARK_ENTRY)
            .ok_or_else(|| at.stack("no MARK on the stack"))
    }

    /// A container pushed again: its structure may now be shared or cyclic.
    pub(super) fn note_shared(&mut self, id: NodeId) {
        if let Node::Container(_) = self.node(id) {
            self.shared = true;
        }
    }

    pub(super) fn memo_put(&mut self, index: u32, id: NodeId, at: At) -> Result<(), Error> {
        let index = index as usize;
        let memo = &mut self.d.memo;
        // Refused before any slot is filled (an index far past the input's allowance would
        // otherwise fill the memo up to its limit first).
        if index >= memo.capacity() {
            return Err(at.capacity(Capacity::Memo, memo.capacity()));
        }
        while memo.len() <= index {
            memo.push(NIL)
                .map_err(|_| at.capacity(Capacity::Memo, memo.capacity()))?;
        }
        if self.d.memo[index] == NIL {
            self.memo_len += 1;
        }
        self.d.memo[index] = id;
        Ok(())
    }
}
