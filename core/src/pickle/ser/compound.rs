//! serde's side: the `Serializer` trait and containers (lists, tuples, dicts) with CPython's
//! batching.

use super::*;

/// How a list's or dict's items are closed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// APPEND/SETITEM after each item (protocol 0, or exactly one item).
    Single,
    /// MARK … APPENDS/SETITEMS in batches of 1000.
    Batched,
    /// Like `Batched`, for a length serde did not tell; one item is rewritten as `Single`.
    Unknown,
    /// `Batched` with a told length of 2 or more (structs, most maps and seqs; not Python
    /// 2's types): the first batch's MARK was written with the container's start, so an item
    /// costs no MARK check; after `BATCHSIZE` items the container goes on as `Batched`.
    Premarked,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Items { dict: bool, mode: Mode },
    Tuple { marked: bool },
    EmptyTuple,
}

/// A list, tuple or dict being written (serde's `SerializeSeq`, `SerializeMap`, …).
pub struct Compound<'a, 'b, const MEMO: usize> {
    pub(super) ser: &'a mut Serializer<'b, MEMO>,
    pub(super) shape: Shape,
    /// Items serde announced (lists and dicts).
    pub(super) len: Option<usize>,
    /// Items written.
    pub(super) count: usize,
    /// Items in the open batch.
    pub(super) batch: usize,
    /// Whether this container's first MARK is on the serializer's mark stack.
    pub(super) mark: bool,
    /// Whether a `{variant: …}` dict waits for its SETITEM after this container.
    pub(super) close: bool,
    /// Whether the next item opens a batch (`Batched`, `Unknown`): `open_batch` first.
    pub(super) mark_next: bool,
    /// While `count` is below this, an item needs nothing after it (`Premarked` in its
    /// first batch, tuples); otherwise `after_batched_item` runs after each.
    pub(super) quiet: usize,
    /// Items batched as CPython batches an iterator's (`batch_appends`/`batch_setitems`: a
    /// batch of one item without MARK, no empty batch after 1000·k items), not a list's or
    /// dict's own: the standard collections' items.
    pub(super) lone_last: bool,
}

impl<'a, 'b, const MEMO: usize> Compound<'a, 'b, MEMO> {
    pub(super) fn new(ser: &'a mut Serializer<'b, MEMO>, shape: Shape, close: bool) -> Self {
        let (mark_next, quiet) = match shape {
            Shape::Items {
                mode: Mode::Premarked,
                ..
            } => (false, BATCHSIZE),
            Shape::Items {
                mode: Mode::Single, ..
            } => (false, 0),
            Shape::Items { .. } => (true, 0),
            Shape::Tuple { .. } | Shape::EmptyTuple => (false, usize::MAX),
        };
        Compound {
            mark_next,
            quiet,
            ser,
            shape,
            len: None,
            count: 0,
            batch: 0,
            mark: false,
            close,
            lone_last: false,
        }
    }

    #[inline(always)]
    pub(super) fn before_item(&mut self) -> Result<(), Error> {
        // `mark_next` only while `count >= quiet`: after an item's `after_item`, the same
        // comparison (so no check of its own on the fast path).
        if self.count >= self.quiet && self.mark_next {
            self.open_batch()
        } else {
            Ok(())
        }
    }

    /// Starts a batch (`Batched`, `Unknown`): its MARK, or for Python 2's last batch of one
    /// item, nothing (`Single` from here on).
    #[inline(never)]
    fn open_batch(&mut self) -> Result<(), Error> {
        let Shape::Items { dict, mode } = self.shape else {
            return Ok(());
        };
        self.mark_next = false;
        if (self.ser.py2() || self.lone_last) && self.len == Some(self.count.saturating_add(1)) {
            // Python 2 (and an iterator's batches) write a last batch of one item as
            // `item APPEND`, no MARK.
            let mode = Mode::Single;
            self.shape = Shape::Items { dict, mode };
            return Ok(());
        }
        self.ser.write(&[MARK])?;
        // CPython 3 writes a lone item without MARK only as the whole container;
        // Python 2 in every batch.
        let lone_possible = self.count == 0 || self.ser.py2() || self.lone_last;
        if lone_possible && mode == Mode::Unknown && self.ser.marks_len < MARK_STACK {
            if let Some(m) = self.ser.marks.get_mut(self.ser.marks_len) {
                *m = PendingMark {
                    at: self.ser.pos.saturating_sub(1),
                    header: NO_FRAME,
                };
                self.ser.marks_len += 1;
                self.mark = true;
            }
        }
        Ok(())
    }

    #[inline(always)]
    pub(super) fn after_item(&mut self) -> Result<(), Error> {
        self.count = self.count.wrapping_add(1);
        if self.count < self.quiet {
            Ok(())
        } else {
            self.after_batched_item()
        }
    }

    /// `after_item` for `Single` (its closing opcode), `Batched` and `Unknown`, and for
    /// `Premarked` at `BATCHSIZE` items: counts the item into its batch and closes a full
    /// batch.
    #[inline(never)]
    fn after_batched_item(&mut self) -> Result<(), Error> {
        let Shape::Items { dict, mode } = self.shape else {
            return Ok(());
        };
        if mode == Mode::Single {
            return self.ser.write_op(one_op(dict));
        } else if mode == Mode::Premarked {
            // The first batch is full: `self.count` items, as `Batched` counts them.
            self.batch = self.count;
            let mode = Mode::Batched;
            self.shape = Shape::Items { dict, mode };
            self.quiet = 0;
        } else {
            self.batch += 1;
        }
        if self.batch == BATCHSIZE {
            self.ser.write(&[many_op(dict)])?;
            self.batch = 0;
            self.mark_next = true;
            if self.mark {
                self.mark = false;
                self.ser.marks_len = self.ser.marks_len.saturating_sub(1);
            }
        }
        Ok(())
    }

    pub(super) fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        match self.shape {
            Shape::EmptyTuple => return Err(too_many()),
            Shape::Tuple { marked: false } if self.count >= 3 => return Err(too_many()),
            _ => {}
        }
        self.before_item()?;
        value.serialize(&mut *self.ser)?;
        self.after_item()
    }

    #[inline]
    pub(super) fn end(self) -> Result<(), Error> {
        if let (
            Shape::Items {
                dict,
                mode: Mode::Premarked,
            },
            false,
        ) = (self.shape, self.close)
        {
            if self.count > 0 {
                return self.ser.write_op(many_op(dict));
            }
        }
        let mut this = self;
        this.end_general()
    }

    /// [`Compound::end`] outside its common case (by reference: no copy of the compound).
    #[inline(never)]
    pub(super) fn end_general(&mut self) -> Result<(), Error> {
        let ser = &mut *self.ser;
        match self.shape {
            Shape::Items {
                dict,
                mode: Mode::Premarked,
            } => {
                if self.count == 0 {
                    // No item came after all: the MARK, the last byte written, goes.
                    ser.pos = ser.pos.saturating_sub(1);
                } else {
                    ser.write(&[many_op(dict)])?;
                }
            }
            Shape::Items {
                mode: Mode::Single, ..
            }
            | Shape::EmptyTuple => {}
            Shape::Items { dict, .. } => {
                let mut done = false;
                if self.mark {
                    ser.marks_len = ser.marks_len.saturating_sub(1);
                    if self.batch == 1 {
                        if let Some(m) = ser.marks.get(ser.marks_len).copied() {
                            // CPython writes a lone item without MARK.
                            ser.remove(m.at, 1);
                            if m.header != NO_FRAME {
                                ser.shrink_closed_frame(m.header);
                            }
                            ser.write(&[one_op(dict)])?;
                            done = true;
                        }
                    }
                }
                if !done && self.batch > 0 {
                    ser.write(&[many_op(dict)])?;
                } else if !done && dict && self.count > 0 && !ser.py2 && !self.lone_last {
                    // CPython 3's batch loop ends a dict of 1000·k items with an empty batch.
                    ser.write(&[MARK, Opcode::SETITEMS.byte()])?;
                }
            }
            Shape::Tuple { marked } => {
                let op = match (marked, self.count) {
                    (true, _) => Opcode::TUPLE,
                    (false, 1) => Opcode::TUPLE1,
                    (false, 2) => Opcode::TUPLE2,
                    (false, 3) => Opcode::TUPLE3,
                    (false, _) => Opcode::EMPTY_TUPLE,
                };
                ser.write_op(op.byte())?;
                if self.count > 0 {
                    ser.memo_put()?;
                }
            }
        }
        if self.close {
            ser.write_op(Opcode::SETITEM.byte())?;
        }
        Ok(())
    }
}

pub(super) fn too_many() -> Error {
    Error::Unsupported {
        what: "a tuple with more elements than its declared length",
    }
}

pub(super) fn one_op(dict: bool) -> u8 {
    if dict {
        Opcode::SETITEM.byte()
    } else {
        Opcode::APPEND.byte()
    }
}

pub(super) fn many_op(dict: bool) -> u8 {
    if dict {
        Opcode::SETITEMS.byte()
    } else {
        Opcode::APPENDS.byte()
    }
}

/// `serialize_x(self, v: T)` as `self.save_y(v.into())`, for serde's scalar methods.
macro_rules! scalars {
    ($($method:ident($ty:ty) => $save:ident,)*) => {$(
        #[inline]
        fn $method(self, v: $ty) -> Result<(), Error> {
            self.$save(v.into())
        }
    )*};
}

/// serde's container traits for [`Compound`]: `type Ok = ()`, `type Error = Error`, `end` as
/// [`Compound::end`], and the methods given; `element` names a trait whose one method (named)
/// writes the next item with [`Compound::element`], `field` a struct's, whose
/// `serialize_field` writes a key and its value.
macro_rules! container {
    (element $trait:ident :: $method:ident) => {
        container!($trait {
            #[inline]
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
        });
    };
    (field $trait:ident) => {
        container!($trait {
            // Inlined into the struct's `serialize`, where `key` is a constant: its memo
            // filter bit and its bytes are then computed at compile time.
            #[inline(always)]
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.before_item()?;
                self.ser.save_str(key)?;
                value.serialize(&mut *self.ser)?;
                self.after_item()
            }
        });
    };
    ($trait:ident { $($body:tt)* }) => {
        impl<const MEMO: usize> ser::$trait for Compound<'_, '_, MEMO> {
            type Ok = ();
            type Error = Error;
            $($body)*
            #[inline]
            fn end(self) -> Result<(), Error> {
                Compound::end(self)
            }
        }
    };
}

impl<'a, 'b, const MEMO: usize> ser::Serializer for &'a mut Serializer<'b, MEMO> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, 'b, MEMO>;
    type SerializeTuple = Compound<'a, 'b, MEMO>;
    type SerializeTupleStruct = Compound<'a, 'b, MEMO>;
    type SerializeTupleVariant = Compound<'a, 'b, MEMO>;
    type SerializeMap = Compound<'a, 'b, MEMO>;
    type SerializeStruct = Compound<'a, 'b, MEMO>;
    type SerializeStructVariant = Compound<'a, 'b, MEMO>;

    scalars! {
        serialize_bool(bool) => save_bool,
        serialize_i8(i8) => save_i64,
        serialize_i16(i16) => save_i64,
        serialize_i32(i32) => save_i64,
        serialize_i64(i64) => save_i64,
        serialize_i128(i128) => save_i128,
        serialize_u8(u8) => save_u64,
        serialize_u16(u16) => save_u64,
        serialize_u32(u32) => save_u64,
        serialize_u64(u64) => save_u64,
        serialize_u128(u128) => save_u128,
        serialize_f32(f32) => save_float,
        serialize_f64(f64) => save_float,
    }
    #[inline]
    fn serialize_char(self, v: char) -> Result<(), Error> {
        let mut utf8 = [0u8; 4];
        self.save_str(v.encode_utf8(&mut utf8))
    }
    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.save_str(v)
    }
    #[inline]
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.save_bytes(v)
    }
    #[inline]
    fn serialize_none(self) -> Result<(), Error> {
        self.save_none()
    }
    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    #[inline]
    fn serialize_unit(self) -> Result<(), Error> {
        self.save_none()
    }
    #[inline]
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.save_none()
    }
    #[inline]
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.save_str(variant)
    }
    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        match super::python::Special::of(name) {
            Some(kind) => value.serialize(super::python::Capture { ser: self, kind }),
            #[cfg(feature = "alloc")]
            None => match super::standard_collections::Kind::of(name) {
                Some(kind) => value.serialize(super::standard_collections::Start::new(self, kind)),
                None => value.serialize(self),
            },
            #[cfg(not(feature = "alloc"))]
            None => value.serialize(self),
        }
    }
    #[inline]
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.begin_variant(variant)?;
        value.serialize(&mut *self)?;
        self.write(&[Opcode::SETITEM.byte()])
    }
    #[inline]
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        self.begin_list()?;
        self.items(false, len, false)
    }
    #[inline]
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, Error> {
        self.begin_tuple(len, false)
    }
    #[inline]
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        self.begin_tuple(len, false)
    }
    #[inline]
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        self.begin_variant(variant)?;
        self.begin_tuple(len, true)
    }
    #[inline]
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        self.begin_dict()?;
        self.items(true, len, false)
    }
    #[inline(always)]
    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        self.begin_struct(len, false)
    }
    #[inline]
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        self.begin_variant(variant)?;
        self.begin_dict()?;
        self.items(true, Some(len), true)
    }
    #[inline]
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.save_text(&Shown(value), true).map(|_| ())
    }
}

container!(element SerializeSeq::serialize_element);
container!(element SerializeTuple::serialize_element);
container!(element SerializeTupleStruct::serialize_field);
container!(element SerializeTupleVariant::serialize_field);

container!(SerializeMap {
    #[inline]
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.before_item()?;
        let outer = core::mem::replace(&mut self.ser.in_key, true);
        let result = key.serialize(&mut *self.ser);
        self.ser.in_key = outer;
        result
    }
    #[inline]
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.ser)?;
        self.after_item()
    }
});

container!(field SerializeStruct);
container!(field SerializeStructVariant);
