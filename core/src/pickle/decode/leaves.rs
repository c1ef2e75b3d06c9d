//! The leaf opcodes: None, bools, ints, floats, strings and bytes, each pushed as one node
//! (strings, bytes and big integers as spans of the input).

use crate::pickle::number;
use crate::pickle::opcodes::Opcode;
use crate::pickle::text::{self, BytesEncoding, TextEncoding};

use super::arena::{key_slot, IntDigits, Node};
use super::fault::Stop;
use super::machine::{At, Machine};
use super::Arena;

impl<A: Arena> Machine<'_, '_, A> {
    /// None, bools, ints and floats.
    #[inline(always)]
    pub(super) fn number(&mut self, at: At) -> Result<(), Stop> {
        use Opcode::*;
        match at.op {
            NONE => self.push_node(Node::None)?,
            NEWTRUE => self.push_node(Node::Bool(true))?,
            NEWFALSE => self.push_node(Node::Bool(false))?,
            INT => {
                let start = self.pos;
                let line = self.line()?;
                let node = match int_bool(line) {
                    Some(b) => Node::Bool(b),
                    None => decimal_int(start, line).map_err(|r| self.arg(r))?,
                };
                self.push_node(node)?;
            }
            LONG => {
                let start = self.pos;
                let line = self.line()?;
                let digits = match line {
                    [digits @ .., b'L'] => digits,
                    _ => line,
                };
                let node = decimal_int(start, digits).map_err(|r| self.arg(r))?;
                self.push_node(node)?;
            }
            BININT => {
                // Four bytes, signed.
                let v = self.fixed(at)? as u32 as i32;
                self.push_node(Node::Int(v.into()))?;
            }
            BININT1 | BININT2 => {
                // One or two bytes, unsigned.
                let v = self.fixed(at)?;
                self.push_node(Node::Int(v as i64))?;
            }
            LONG1 | LONG4 => {
                // Any length, as CPython loads it (only printing has a digit limit).
                let n = self.count(at)?;
                let start = self.pos;
                let le = self.take(n)?;
                let node = match number::le_to_i64(le) {
                    Some(v) => Node::Int(v),
                    None => Node::BigInt {
                        start: start as u32,
                        len: n as u32,
                        digits: IntDigits::LittleEndian,
                    },
                };
                self.push_node(node)?;
            }
            FLOAT => {
                let line = self.line()?;
                let v = number::parse_float_line(line).map_err(|r| self.arg(r))?;
                self.push_node(Node::Float(v))?;
            }
            BINFLOAT => {
                // Eight bytes, big-endian.
                let v = f64::from_bits(self.fixed(at)?.swap_bytes());
                self.push_node(Node::Float(v))?;
            }
            _ => return Err(self.refuse(None)),
        }
        Ok(())
    }

    /// Strings (a Python 2 `str` of non-ASCII bytes loads as `bytes`, as CPython 3 loads it).
    #[inline(always)]
    pub(super) fn text(&mut self, at: At) -> Result<(), Stop> {
        use Opcode::*;
        match at.op {
            STRING => {
                let start = self.pos;
                let line = self.line()?;
                let info = text::py_literal_info(line).map_err(|r| self.arg(r))?;
                let (start, len) = (start as u32, line.len() as u32);
                let node = if info.ascii {
                    Node::Str {
                        start,
                        len,
                        enc: TextEncoding::PyLiteral,
                        key: 0,
                    }
                } else {
                    Node::Bytes {
                        start,
                        len,
                        enc: BytesEncoding::PyLiteral,
                        mutable: false,
                    }
                };
                self.push_node(node)?;
            }
            BINSTRING | SHORT_BINSTRING => {
                let n = self.count(at)?;
                let start = self.pos;
                let raw = self.take(n)?;
                let (start, len) = (start as u32, n as u32);
                let node = if raw.is_ascii() {
                    Node::Str {
                        start,
                        len,
                        enc: TextEncoding::Utf8,
                        key: key_slot(raw),
                    }
                } else {
                    Node::Bytes {
                        start,
                        len,
                        enc: BytesEncoding::Raw,
                        mutable: false,
                    }
                };
                self.push_node(node)?;
            }
            UNICODE => {
                let start = self.pos;
                let line = self.line()?;
                text::validate_text(line, TextEncoding::RawUnicodeEscape)
                    .map_err(|r| self.arg(r))?;
                self.push_node(Node::Str {
                    start: start as u32,
                    len: line.len() as u32,
                    enc: TextEncoding::RawUnicodeEscape,
                    key: 0,
                })?;
            }
            BINUNICODE | SHORT_BINUNICODE | BINUNICODE8 => {
                let n = self.count(at)?;
                let start = self.pos;
                let raw = self.take(n)?;
                if self.check_utf8 {
                    text::validate_text(raw, TextEncoding::Utf8).map_err(|r| self.arg(r))?;
                }
                self.push_node(Node::Str {
                    start: start as u32,
                    len: n as u32,
                    enc: TextEncoding::Utf8,
                    key: key_slot(raw),
                })?;
            }
            _ => return Err(self.refuse(None)),
        }
        Ok(())
    }

    /// bytes and bytearray.
    #[inline(always)]
    pub(super) fn bytes(&mut self, at: At) -> Result<(), Stop> {
        use Opcode::*;
        match at.op {
            BINBYTES | SHORT_BINBYTES | BINBYTES8 | BYTEARRAY8 => {
                let n = self.count(at)?;
                let start = self.pos;
                self.take(n)?;
                self.push_node(Node::Bytes {
                    start: start as u32,
                    len: n as u32,
                    enc: BytesEncoding::Raw,
                    mutable: at.op == BYTEARRAY8,
                })?;
            }
            _ => return Err(self.refuse(None)),
        }
        Ok(())
    }
}

/// An INT argument CPython's C unpickler reads as a bool: two characters (`strtol` of
/// them is 0 or 1 and ends at the newline), such as `00`, `01`, ` 1`, `+1`, `-0`.
/// (A line holds no `\n`: the whitespace `\t`, 0x0b, 0x0c, `\r` are one range here.)
fn int_bool(line: &[u8]) -> Option<bool> {
    let &[first, d] = line else {
        return None;
    };
    match (first, d) {
        (b'0' | b'+' | b' ' | b'\t'..=b'\r', b'0' | b'1') => Some(d == b'1'),
        (b'-', b'0') => Some(false),
        _ => None,
    }
}

/// An INT or LONG decimal argument that starts at input offset `start` (at most
/// Python's 4300 digits: `parse_decimal_int` refuses longer ones).
fn decimal_int(start: usize, digits: &[u8]) -> Result<Node, &'static str> {
    let (negative, magnitude) = number::split_decimal(digits)?;
    Ok(match number::digits_to_i64(negative, magnitude) {
        Some(v) => Node::Int(v),
        None => Node::BigInt {
            start: start as u32,
            len: digits.len() as u32,
            digits: IntDigits::Decimal,
        },
    })
}
