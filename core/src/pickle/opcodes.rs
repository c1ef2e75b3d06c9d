//! Pickle opcodes and the shape of their arguments (wire format only).
//!
//! Names and bytes follow CPython's `pickle.py`; argument layouts follow `pickletools.py`.

/// Declares the opcode enum, its byte values, names and argument layouts in one table.
macro_rules! opcodes {
    ($( $(#[$doc:meta])* $name:ident = $byte:literal, $arg:expr; )*) => {
        /// One pickle opcode.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[repr(u8)]
        #[allow(missing_docs, non_camel_case_types)]
        pub enum Opcode {
            $( $(#[$doc])* $name = $byte, )*
        }

        impl Opcode {
            /// The opcode for `byte`, or `None` if no opcode has that value (one compare and
            /// one table load).
            #[inline]
            pub const fn from_byte(byte: u8) -> Option<Self> {
                let index = byte.wrapping_sub(FIRST) as usize;
                if index < BY_BYTE.len() {
                    BY_BYTE[index]
                } else {
                    None
                }
            }

            /// [`from_byte`](Self::from_byte) as a `match`, to build the table at compile time.
            const fn decode_byte(byte: u8) -> Option<Self> {
                match byte {
                    $( $byte => Some(Opcode::$name), )*
                    _ => None,
                }
            }

            /// The opcode's name as in CPython's `pickle.py` (e.g. `"SHORT_BINUNICODE"`).
            ///
            /// Looked up in one string of the names in declaration order (about 0.7 KB of
            /// flash, a third of what a `match` of 68 string literals compiles to).
            pub const fn name(self) -> &'static str {
                const ORDER: &[u8] = &[$( $byte, )*];
                const NAMES: &str = concat!($( stringify!($name), " ", )*);
                let mut index = 0;
                while index < ORDER.len() && ORDER[index] != self as u8 {
                    index += 1;
                }
                // Skip `index` names, then take the name up to its space.
                let names = NAMES.as_bytes();
                let (mut start, mut skipped) = (0, 0);
                while skipped < index && start < names.len() {
                    if names[start] == b' ' {
                        skipped += 1;
                    }
                    start += 1;
                }
                let mut end = start;
                while end < names.len() && names[end] != b' ' {
                    end += 1;
                }
                // `split_at_checked`: no panic path (it would link `core::fmt`).
                let name = match names.split_at_checked(end) {
                    Some((head, _)) => match head.split_at_checked(start) {
                        Some((_, name)) => name,
                        None => head,
                    },
                    None => names,
                };
                match core::str::from_utf8(name) {
                    Ok(name) => name,
                    Err(_) => "",
                }
            }

            /// How the opcode's argument is laid out after the opcode byte.
            #[inline]
            pub const fn arg(self) -> Arg {
                match self {
                    $( Opcode::$name => $arg, )*
                }
            }

            /// [`Arg::width`] of the opcode's argument; a constant where `self` is one (the
            /// fast paths size their reads with it).
            #[inline(always)]
            pub const fn width(self) -> usize {
                self.arg().width()
            }
        }
    };
}

/// The lowest and the highest opcode byte (`(` and READONLY_BUFFER) without `fast`; with it,
/// the table holds every byte (no compare: the slow path of protocol 0 reads each opcode
/// through it).
const FIRST: u8 = if cfg!(feature = "fast") {
    0
} else {
    bound(true)
};
const LAST: u8 = if cfg!(feature = "fast") {
    255
} else {
    bound(false)
};

/// The lowest (`lowest`) or the highest byte that is an opcode.
const fn bound(lowest: bool) -> u8 {
    let (mut byte, mut found) = (0u16, if lowest { 255 } else { 0 });
    while byte < 256 {
        if Opcode::decode_byte(byte as u8).is_some() && (!lowest || (byte as u8) < found) {
            found = byte as u8;
        }
        byte += 1;
    }
    found
}

/// The opcode of every byte from [`FIRST`] to [`LAST`], computed at compile time (without
/// `fast`, 113 bytes of flash, not 256: no opcode lies outside).
static BY_BYTE: [Option<Opcode>; (LAST - FIRST) as usize + 1] = {
    let mut table = [None; (LAST - FIRST) as usize + 1];
    let mut index = 0;
    while index < table.len() {
        table[index] = Opcode::decode_byte(FIRST + index as u8);
        index += 1;
    }
    table
};

/// The layout of an opcode's argument on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Arg {
    /// No argument.
    None,
    /// Exactly this many bytes.
    Fixed(u8),
    /// Bytes up to and including a `\n`.
    Line,
    /// Two `\n`-terminated lines (GLOBAL, INST).
    TwoLines,
    /// A little-endian unsigned length of this many bytes (1, 4 or 8), then that many bytes.
    Counted(u8),
    /// A little-endian signed 4-byte length, then that many bytes (BINSTRING; negative is invalid).
    CountedSigned4,
}

impl Arg {
    /// Bytes after the opcode that [`length`](Self::length) or the value itself needs: a
    /// fixed argument's `n`, a counted argument's length width (1, 4 or 8); 0 otherwise.
    #[inline]
    pub const fn width(self) -> usize {
        match self {
            Arg::Fixed(n) | Arg::Counted(n) => n as usize,
            Arg::CountedSigned4 => 4,
            Arg::None | Arg::Line | Arg::TwoLines => 0,
        }
    }

    /// The byte count of a counted argument whose [`width`](Self::width) length bytes read
    /// `raw` (little-endian, unsigned); `None` if it is negative (BINSTRING,
    /// LONG4: a signed 4-byte length).
    #[inline]
    pub const fn length(self, raw: u64) -> Option<u64> {
        match self {
            Arg::CountedSigned4 if raw & 0x8000_0000 != 0 => None,
            _ => Some(raw),
        }
    }
}

/// Opcode bytes as constants, for `match` arms on the raw byte (the machine's hot loop, the
/// serde pull driver): the opcode table's values.
pub(crate) mod op {
    use super::Opcode;
    pub(crate) const STOP: u8 = Opcode::STOP as u8;
    pub(crate) const PROTO: u8 = Opcode::PROTO as u8;
    pub(crate) const FRAME: u8 = Opcode::FRAME as u8;
    pub(crate) const MARK: u8 = Opcode::MARK as u8;
    pub(crate) const MEMOIZE: u8 = Opcode::MEMOIZE as u8;
    pub(crate) const BINPUT: u8 = Opcode::BINPUT as u8;
    pub(crate) const BINGET: u8 = Opcode::BINGET as u8;
    pub(crate) const SHORT_BINUNICODE: u8 = Opcode::SHORT_BINUNICODE as u8;
    pub(crate) const BINUNICODE: u8 = Opcode::BINUNICODE as u8;
    pub(crate) const NONE: u8 = Opcode::NONE as u8;
    pub(crate) const NEWTRUE: u8 = Opcode::NEWTRUE as u8;
    pub(crate) const NEWFALSE: u8 = Opcode::NEWFALSE as u8;
    pub(crate) const BININT1: u8 = Opcode::BININT1 as u8;
    pub(crate) const BININT2: u8 = Opcode::BININT2 as u8;
    pub(crate) const BININT: u8 = Opcode::BININT as u8;
    pub(crate) const BINFLOAT: u8 = Opcode::BINFLOAT as u8;
    pub(crate) const EMPTY_LIST: u8 = Opcode::EMPTY_LIST as u8;
    pub(crate) const EMPTY_DICT: u8 = Opcode::EMPTY_DICT as u8;
    pub(crate) const TUPLE2: u8 = Opcode::TUPLE2 as u8;
    pub(crate) const APPEND: u8 = Opcode::APPEND as u8;
    pub(crate) const APPENDS: u8 = Opcode::APPENDS as u8;
    pub(crate) const SETITEM: u8 = Opcode::SETITEM as u8;
    pub(crate) const SETITEMS: u8 = Opcode::SETITEMS as u8;
}

/// `bytes` (at most 8) as a little-endian unsigned integer.
#[inline]
pub(crate) const fn le_u64(bytes: &[u8]) -> u64 {
    let mut acc = 0u64;
    let mut i = bytes.len();
    while i > 0 {
        i -= 1;
        acc = acc << 8 | bytes[i] as u64;
    }
    acc
}

opcodes! {
    MARK = b'(', Arg::None;
    STOP = b'.', Arg::None;
    POP = b'0', Arg::None;
    POP_MARK = b'1', Arg::None;
    DUP = b'2', Arg::None;
    FLOAT = b'F', Arg::Line;
    INT = b'I', Arg::Line;
    BININT = b'J', Arg::Fixed(4);
    BININT1 = b'K', Arg::Fixed(1);
    LONG = b'L', Arg::Line;
    BININT2 = b'M', Arg::Fixed(2);
    NONE = b'N', Arg::None;
    PERSID = b'P', Arg::Line;
    BINPERSID = b'Q', Arg::None;
    REDUCE = b'R', Arg::None;
    STRING = b'S', Arg::Line;
    BINSTRING = b'T', Arg::CountedSigned4;
    SHORT_BINSTRING = b'U', Arg::Counted(1);
    UNICODE = b'V', Arg::Line;
    BINUNICODE = b'X', Arg::Counted(4);
    APPEND = b'a', Arg::None;
    BUILD = b'b', Arg::None;
    GLOBAL = b'c', Arg::TwoLines;
    DICT = b'd', Arg::None;
    EMPTY_DICT = b'}', Arg::None;
    APPENDS = b'e', Arg::None;
    GET = b'g', Arg::Line;
    BINGET = b'h', Arg::Fixed(1);
    INST = b'i', Arg::TwoLines;
    LONG_BINGET = b'j', Arg::Fixed(4);
    LIST = b'l', Arg::None;
    EMPTY_LIST = b']', Arg::None;
    OBJ = b'o', Arg::None;
    PUT = b'p', Arg::Line;
    BINPUT = b'q', Arg::Fixed(1);
    LONG_BINPUT = b'r', Arg::Fixed(4);
    SETITEM = b's', Arg::None;
    TUPLE = b't', Arg::None;
    EMPTY_TUPLE = b')', Arg::None;
    SETITEMS = b'u', Arg::None;
    BINFLOAT = b'G', Arg::Fixed(8);
    PROTO = 0x80, Arg::Fixed(1);
    NEWOBJ = 0x81, Arg::None;
    EXT1 = 0x82, Arg::Fixed(1);
    EXT2 = 0x83, Arg::Fixed(2);
    EXT4 = 0x84, Arg::Fixed(4);
    TUPLE1 = 0x85, Arg::None;
    TUPLE2 = 0x86, Arg::None;
    TUPLE3 = 0x87, Arg::None;
    NEWTRUE = 0x88, Arg::None;
    NEWFALSE = 0x89, Arg::None;
    LONG1 = 0x8a, Arg::Counted(1);
    LONG4 = 0x8b, Arg::CountedSigned4;
    BINBYTES = b'B', Arg::Counted(4);
    SHORT_BINBYTES = b'C', Arg::Counted(1);
    SHORT_BINUNICODE = 0x8c, Arg::Counted(1);
    BINUNICODE8 = 0x8d, Arg::Counted(8);
    BINBYTES8 = 0x8e, Arg::Counted(8);
    EMPTY_SET = 0x8f, Arg::None;
    ADDITEMS = 0x90, Arg::None;
    FROZENSET = 0x91, Arg::None;
    NEWOBJ_EX = 0x92, Arg::None;
    STACK_GLOBAL = 0x93, Arg::None;
    MEMOIZE = 0x94, Arg::None;
    FRAME = 0x95, Arg::Fixed(8);
    BYTEARRAY8 = 0x96, Arg::Counted(8);
    NEXT_BUFFER = 0x97, Arg::None;
    READONLY_BUFFER = 0x98, Arg::None;
}

impl Opcode {
    /// The opcode's byte on the wire.
    #[inline]
    pub const fn byte(self) -> u8 {
        self as u8
    }

    /// True for opcodes that import, call, build objects or reach outside the pickle
    /// (GLOBAL, REDUCE, BUILD, ...). The decoder refuses these, except for the exact
    /// patterns CPython emits for builtin `set`, `frozenset`, `bytes` and `bytearray`.
    pub const fn runs_code(self) -> bool {
        matches!(
            self,
            Opcode::GLOBAL
                | Opcode::STACK_GLOBAL
                | Opcode::REDUCE
                | Opcode::BUILD
                | Opcode::INST
                | Opcode::OBJ
                | Opcode::NEWOBJ
                | Opcode::NEWOBJ_EX
                | Opcode::EXT1
                | Opcode::EXT2
                | Opcode::EXT4
                | Opcode::PERSID
                | Opcode::BINPERSID
                | Opcode::NEXT_BUFFER
                | Opcode::READONLY_BUFFER
        )
    }
}

impl core::fmt::Display for Opcode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    #[test]
    fn every_byte_round_trips() {
        let mut count = 0;
        for b in 0..=255u8 {
            if let Some(op) = Opcode::from_byte(b) {
                assert_eq!(op.byte(), b);
                count += 1;
            }
        }
        // pickle.py defines 68 opcodes (protocols 0-5).
        assert_eq!(count, 68);
    }

    #[test]
    fn names_match_pickle_py() {
        assert_eq!(Opcode::from_byte(0x8c).unwrap().name(), "SHORT_BINUNICODE");
        // Every name, as the enum's variant is spelled.
        for op in (0..=255u8).filter_map(Opcode::from_byte) {
            assert_eq!(op.name(), std::format!("{op:?}"));
        }
        assert_eq!(Opcode::from_byte(b'.').unwrap(), Opcode::STOP);
        assert!(Opcode::REDUCE.runs_code());
        assert!(!Opcode::APPENDS.runs_code());
    }

    #[test]
    fn argument_widths_and_lengths() {
        assert_eq!(Opcode::BININT2.arg().width(), 2);
        assert_eq!(Opcode::BINUNICODE8.arg().width(), 8);
        assert_eq!(Opcode::BINSTRING.arg().width(), 4);
        assert_eq!(Opcode::INT.arg().width(), 0);
        assert_eq!(le_u64(&[0x01, 0x02, 0x03]), 0x03_0201);
        assert_eq!(le_u64(&[0xff; 8]), u64::MAX);
        // A signed 4-byte length (BINSTRING, LONG4) is negative from 2^31; unsigned are not.
        assert_eq!(Opcode::LONG4.arg().length(0x7fff_ffff), Some(0x7fff_ffff));
        assert_eq!(Opcode::LONG4.arg().length(0x8000_0000), None);
        assert_eq!(
            Opcode::BINUNICODE.arg().length(0x8000_0000),
            Some(0x8000_0000)
        );
    }
}
