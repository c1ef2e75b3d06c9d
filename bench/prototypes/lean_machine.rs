// The lean machine of bench/prototypes/value_lean_machine.rs (instructions) and
// value_lean_flash.rs (flash): no_std-clean (core only), included by both with `include!`.
// The design and what it declines to the slow path are described in value_lean_machine.rs.

const NODES: usize = 1024;
const ITEMS: usize = 2048;
const STACK: usize = 512;
const MARKS: usize = 64;
const MEMO: usize = 1024;
const MAX_DEPTH: u16 = 64;
/// `lean_full`: a memo slot below the highest index put but never filled.
#[cfg(lean_full)]
const NIL: u16 = u16::MAX;
const MAX_EXPANSION: u32 = 1 << 24;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    List,
    Tuple,
    Dict,
    #[cfg(lean_full)]
    Set,
    #[cfg(lean_full)]
    FrozenSet,
}

#[derive(Clone, Copy)]
enum N {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str { start: u32, len: u32, key: u8 },
    #[cfg(lean_more)]
    Bytes { start: u32, len: u32 },
    #[cfg(lean_full)]
    ByteArray { start: u32, len: u32 },
    /// `lean_full`: text with escapes (or UNICODE's Latin-1), read by [`Chars`]: a str; a STRING
    /// whose bytes are not all ASCII is bytes, as brine loads it; `_codecs.encode(text,
    /// 'latin1')` of non-ASCII text is bytes (a bytearray) of its code points.
    #[cfg(lean_full)]
    Esc { start: u32, len: u32, enc: Option<Enc>, kind: EscKind },
    /// `lean_full`: an int past 64 bits, a span of its decimal text (INT, LONG) or its
    /// little-endian bytes (LONG1, LONG4); never a key compared (as without `any-keys`).
    #[cfg(lean_full)]
    Big { start: u32, len: u32, decimal: bool },
    /// `lean_full`: a global REDUCE may call (builtins' set, frozenset, bytes, bytearray;
    /// `_codecs.encode`), as brine recognises them; nothing else is a value.
    #[cfg(lean_full)]
    Builtin(Builtin),
    Seq(Seq),
}

#[cfg(lean_full)]
#[derive(Clone, Copy, PartialEq)]
enum Builtin {
    Set,
    FrozenSet,
    Bytes,
    ByteArray,
    Encode,
}

#[derive(Clone, Copy)]
struct Seq {
    kind: Kind,
    first: u16,
    len: u16,
    depth: u16,
    expansion: u32,
    unhashable: bool,
}

struct Arena {
    nodes: [N; NODES],
    items: [u16; ITEMS],
    stack: [u16; STACK],
    marks: [u16; MARKS],
    memo: [u16; MEMO],
    n_nodes: usize,
    n_items: usize,
    /// Where the pickle ended (after STOP): lean_client_flash.rs's session needs the length.
    #[cfg(lean_end)]
    end: usize,
    /// `lean_full`: the offset of the opcode being read, so a refusal names where it stopped
    /// (STOP's for what its checks refuse).
    #[cfg(lean_full)]
    at: usize,
}

/// The refusal for a full table or a limit passed: its own code with `lean_full`.
#[cfg(lean_full)]
const CAPACITY: Stop = Stop::Capacity;
#[cfg(not(lean_full))]
const CAPACITY: Stop = Stop::Slow;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Stop {
    /// The general machine would take over here (or report the error). Under `--cfg
    /// lean_full` (lean_client_flash.rs, no general machine): the message is refused, as an
    /// error or as what the lean path still declines (shared containers, memo indices out of
    /// order, a MEMOIZE on a MARK).
    Slow,
    /// `lean_full`: two keys (or set items) compared where one is no str, 64-bit int, bool or
    /// None (the smallest build without `any-keys` refuses those too).
    #[cfg(lean_full)]
    KeyType,
    /// `lean_full`: past a fixed capacity (nodes, items, stack, marks, memo slots) or a limit
    /// (depth, expansion); CPython may load it. `Slow` is then what CPython refuses too
    /// (a malformed pickle) or what the lean path cannot read (a MEMOIZE on a MARK...).
    #[cfg(lean_full)]
    Capacity,
    /// `lean_full`: INT or LONG text past Python's 4300 digits (CPython refuses it too).
    #[cfg(lean_full)]
    BigInt,
    /// `lean_full`: FLOAT's text (the smallest build, without `float-text`, refuses it too).
    #[cfg(lean_full)]
    FloatText,
    /// `lean_full`: an opcode refused: globals and objects (the smallest build accepts the
    /// patterns of builtin set, frozenset, bytes, bytearray; not here), persistent ids,
    /// extensions, out-of-band buffers.
    #[cfg(lean_full)]
    Opcode,
}

fn key_slot(text: &[u8]) -> u8 {
    let len = text.len();
    let byte = |i: usize| usize::from(text.get(i).copied().unwrap_or(0));
    let mix = len + byte(0) + byte(len.wrapping_sub(1)) + byte(len / 2) * 11;
    (mix & 63) as u8 + 1
}

/// Whether `raw` is UTF-8; with `lean_full`, lone surrogates allowed (`ED A0..BF xx`, as
/// CPython's 'surrogatepass' writes them and brine accepts).
#[cfg(not(lean_full))]
#[inline(always)]
fn utf8(raw: &[u8]) -> bool {
    core::str::from_utf8(raw).is_ok()
}

#[cfg(lean_full)]
fn utf8(raw: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        let (n, low, high) = match b {
            0..=0x7f => (0, 0x80, 0xbf),
            0xc2..=0xdf => (1, 0x80, 0xbf),
            0xe0 => (2, 0xa0, 0xbf),
            0xe1..=0xef => (2, 0x80, 0xbf),
            0xf0 => (3, 0x90, 0xbf),
            0xf1..=0xf3 => (3, 0x80, 0xbf),
            0xf4 => (3, 0x80, 0x8f),
            _ => return false,
        };
        let Some(tail) = raw.get(i + 1..i + 1 + n) else {
            return false;
        };
        if tail.iter().enumerate().any(|(k, &c)| c < 0x80 || c > 0xbf || (k == 0 && !(low..=high).contains(&c))) {
            return false;
        }
        i += n + 1;
    }
    true
}

/// How an escaped text node's span is read (`lean_full`): a STRING's body between its quotes
/// (Python 2 escapes, `codecs.escape_decode`) or a UNICODE line (raw-unicode-escape).
#[cfg(lean_full)]
#[derive(Clone, Copy, PartialEq)]
enum EscKind {
    Str,
    Bytes,
    ByteArray,
}

#[cfg(lean_full)]
#[derive(Clone, Copy, PartialEq)]
enum Enc {
    Literal,
    RawUnicode,
}

/// The code points (a STRING's bytes) of a span read in `enc` (`None`: UTF-8, lone
/// surrogates allowed), one at a time, as CPython 3.11's decoders (brine's `esc_step`,
/// `rue_step`); `Slow` at an invalid escape.
#[cfg(lean_full)]
struct Chars<'a> {
    rest: &'a [u8],
    enc: Option<Enc>,
    /// raw-unicode-escape's `\\` is two backslashes: the second still to give.
    backslash: bool,
}

#[cfg(lean_full)]
impl Chars<'_> {
    fn next(&mut self) -> Result<Option<u32>, Stop> {
        if core::mem::take(&mut self.backslash) {
            return Ok(Some(u32::from(b'\\')));
        }
        let Some((&b, rest)) = self.rest.split_first() else {
            return Ok(None);
        };
        let hex = |n: usize| -> Result<u32, Stop> {
            let digits = rest.get(1..1 + n).ok_or(Stop::Slow)?;
            digits.iter().try_fold(0u32, |v, &d| Ok(v << 4 | char::from(d).to_digit(16).ok_or(Stop::Slow)?))
        };
        let (cp, used) = match (self.enc, b, rest.first().copied()) {
            (_, 0..=0x7f, _) if b != b'\\' || self.enc.is_none() => (u32::from(b), 1),
            (None, _, _) => {
                // UTF-8 (validated): a lead byte and its continuations
                let n = match b {
                    0xc0..=0xdf => 1,
                    0xe0..=0xef => 2,
                    _ => 3,
                };
                let lead = u32::from(b) & (0x3f >> n);
                let tail = rest.get(..n).ok_or(Stop::Slow)?;
                (tail.iter().fold(lead, |v, &c| v << 6 | u32::from(c & 0x3f)), n + 1)
            }
            (Some(Enc::RawUnicode), b'\\', Some(b'\\')) => {
                self.backslash = true;
                (u32::from(b'\\'), 2)
            }
            (Some(Enc::RawUnicode), b'\\', Some(u @ (b'u' | b'U'))) => {
                let n = if u == b'u' { 4 } else { 8 };
                let cp = hex(n)?;
                if cp > 0x10ffff {
                    return Err(Stop::Slow);
                }
                (cp, n + 2)
            }
            (Some(Enc::RawUnicode), _, _) => (u32::from(b), 1), // Latin-1; a lone backslash
            (Some(Enc::Literal), b'\\', e) => {
                let simple = |v: u8| (u32::from(v), 2);
                match e.ok_or(Stop::Slow)? {
                    e @ (b'\\' | b'\'' | b'"') => simple(e),
                    b'b' => simple(0x08),
                    b'f' => simple(0x0c),
                    b't' => simple(b'\t'),
                    b'n' => simple(b'\n'),
                    b'r' => simple(b'\r'),
                    b'v' => simple(0x0b),
                    b'a' => simple(0x07),
                    b'x' => (hex(2)?, 4),
                    e @ b'0'..=b'7' => {
                        let more = rest[1..].iter().take(2).take_while(|d| (b'0'..=b'7').contains(d));
                        let (v, n) = more.fold((u32::from(e - b'0'), 2), |(v, n), &d| (v << 3 | u32::from(d - b'0'), n + 1));
                        (v & 0xff, n)
                    }
                    _ => (u32::from(b'\\'), 1), // unknown: the backslash stays
                }
            }
            (Some(Enc::Literal), _, _) => (u32::from(b), 1),
        };
        self.rest = self.rest.get(used..).unwrap_or(&[]);
        Ok(Some(cp))
    }
}

fn ascii(raw: &[u8]) -> bool {
    let mut chunks = raw.chunks_exact(8);
    let mut high = 0u64;
    for chunk in &mut chunks {
        high |= u64::from_le_bytes(chunk.try_into().unwrap_or([0x80; 8]));
    }
    for &b in chunks.remainder() {
        high |= u64::from(b);
    }
    high & 0x8080_8080_8080_8080 == 0
}

impl Arena {
    /// Appends stack entries `from..sp` to container `target`; checks as the general
    /// machine's link_batch does.
    #[cfg_attr(not(lean_full), inline(always))]
    #[cfg_attr(lean_full, inline(never))] // one copy, not one per caller: flash first
    fn fill(&mut self, input: &[u8], target: u16, from: usize, sp: usize) -> Result<(), Stop> {
        #[cfg(not(lean_full))]
        let _ = input;
        let Arena {
            nodes,
            items,
            stack,
            n_items,
            ..
        } = self;
        let batch = stack.get(from..sp).ok_or(Stop::Slow)?;
        let Some(N::Seq(c)) = nodes.get(target as usize).copied() else {
            return Err(Stop::Slow);
        };
        let (mut weight, mut depth, mut unhashable) = (0u64, 0u16, false);
        let mut seen = 0u64;
        let mut distinct = true;
        let mut check = |child: u16, key: bool| -> Result<(), Stop> {
            match nodes.get(child as usize).copied().ok_or(Stop::Slow)? {
                N::Str { len, key: slot, .. } => {
                    weight += u64::from(len) + 1;
                    if key {
                        let bit = 1u64 << (slot & 63);
                        distinct &= seen & bit == 0;
                        seen |= bit;
                    }
                }
                #[cfg(lean_full)]
                N::Builtin(_) => return Err(Stop::Opcode), // a class as data
                #[cfg(lean_full)]
                N::ByteArray { .. } | N::Esc { kind: EscKind::ByteArray, .. } => {
                    if key {
                        return Err(Stop::Slow); // unhashable: CPython's TypeError
                    }
                    weight += 1;
                    unhashable = true;
                }
                // A container inside itself (a cycle): `lean_full`'s walk at STOP counts it.
                #[cfg(lean_full)]
                N::Seq(s) if child == target && !(key && s.unhashable) => weight += 1,
                N::Seq(s) => {
                    if child == target || (key && s.unhashable) {
                        return Err(Stop::Slow);
                    }
                    weight += u64::from(s.expansion);
                    depth = depth.max(s.depth);
                    unhashable |= s.unhashable;
                    distinct &= !key;
                }
                _ => {
                    weight += 1;
                    distinct &= !key;
                }
            }
            Ok(())
        };
        // Without `lean_full` a dict is filled once, its keys distinct by their slots (equal
        // keys are merged on the general path); with it, any number of times, merged here.
        #[cfg(lean_full)]
        let stride = match c.kind {
            Kind::Dict => 2,
            Kind::Set | Kind::FrozenSet => 1,
            _ => 0,
        };
        #[cfg(not(lean_full))]
        let stride = if c.kind == Kind::Dict { 2 } else { 0 };
        if stride == 2 {
            if batch.len() % 2 != 0 || (cfg!(not(lean_full)) && c.len != 0) {
                return Err(Stop::Slow);
            }
            for pair in batch.chunks_exact(2) {
                let &[k, v] = pair else {
                    return Err(Stop::Slow);
                };
                check(k, true)?;
                check(v, false)?;
            }
            if cfg!(not(lean_full)) && !distinct {
                return Err(Stop::Slow); // merge equal keys at STOP, on the general path
            }
        } else {
            for &child in batch {
                check(child, stride == 1)?;
            }
        }
        let expansion = u64::from(c.expansion) + weight;
        let depth = c.depth.max(depth + 1);
        if expansion > u64::from(MAX_EXPANSION) || depth > MAX_DEPTH {
            return Err(CAPACITY);
        }
        // Contiguous: the items go at the end; a container with items elsewhere is moved
        // there (`lean_full`; without it, to the general path). The old places stay unused.
        let end = *n_items;
        #[cfg(not(lean_full))]
        if c.len != 0 && c.first as usize + c.len as usize != end {
            return Err(Stop::Slow);
        }
        let first = if c.len == 0 { end } else { c.first as usize };
        #[cfg(lean_full)]
        let (first, end) = if first + c.len as usize != end {
            let len = c.len as usize;
            if end + len > items.len() {
                return Err(CAPACITY);
            }
            for i in 0..len {
                items[end + i] = items[first + i];
            }
            (end, end + len)
        } else {
            (first, end)
        };
        #[cfg(not(lean_full))]
        let new_end = {
            let new_end = end + batch.len();
            items.get_mut(end..new_end).ok_or(CAPACITY)?.copy_from_slice(batch);
            new_end
        };
        #[cfg(lean_full)]
        let new_end = if stride == 0 {
            let new_end = end + batch.len();
            items.get_mut(end..new_end).ok_or(CAPACITY)?.copy_from_slice(batch);
            new_end
        } else {
            // Equal keys merged as CPython's dict and set do: the first key (item) kept in its
            // place, a dict's later value wins; `1 == True`.
            let mut new_end = end;
            for entry in batch.chunks_exact(stride) {
                let mut at = first;
                while at < new_end && !key_eq(nodes, input, items[at], entry[0])? {
                    at += stride;
                }
                if at == new_end {
                    items.get_mut(at..at + stride).ok_or(CAPACITY)?.copy_from_slice(entry);
                    new_end += stride;
                } else if let [_, value] = *entry {
                    items[at + 1] = value;
                }
            }
            new_end
        };
        *n_items = new_end;
        nodes[target as usize] = N::Seq(Seq {
            kind: c.kind,
            first: first as u16,
            len: (new_end - first) as u16,
            depth,
            expansion: expansion as u32,
            unhashable: c.unhashable || (c.kind == Kind::Tuple && unhashable),
        });
        Ok(())
    }
}

/// Whether dict keys (set items) `a` and `b` are equal as CPython compares them, for the key
/// types the smallest build compares without `any-keys`: strs (by their UTF-8 bytes), ints of
/// 64 bits and bools (`1 == True`), None; `KeyType` for any other type.
#[cfg(lean_full)]
fn key_eq(nodes: &[N], input: &[u8], a: u16, b: u16) -> Result<bool, Stop> {
    let int = |n: &N| match *n {
        N::Int(v) => Some(v),
        N::Bool(b) => Some(i64::from(b)),
        _ => None,
    };
    let text = |start: u32, len: u32| input.get(start as usize..(start + len) as usize);
    let (x, y) = (nodes.get(usize::from(a)), nodes.get(usize::from(b)));
    let (Some(x), Some(y)) = (x, y) else {
        return Err(Stop::Slow);
    };
    // A str's span and how to read it (`None`: UTF-8).
    let chars = |n: &N| match *n {
        N::Str { start, len, .. } => Some((start, len, None)),
        N::Esc { start, len, enc, kind: EscKind::Str } => Some((start, len, enc)),
        _ => None,
    };
    Ok(match (x, y) {
        (N::Str { start, len, key }, N::Str { start: s, len: l, key: k }) => {
            key == k && text(*start, *len) == text(*s, *l)
        }
        (N::Str { .. } | N::Esc { .. }, N::Str { .. } | N::Esc { .. }) => {
            let (Some(p), Some(q)) = (chars(x), chars(y)) else {
                return Err(Stop::KeyType); // a STRING of bytes
            };
            let read = |(start, len, enc)| Chars {
                rest: text(start, len).unwrap_or(&[]),
                enc,
                backslash: false,
            };
            let (mut p, mut q) = (read(p), read(q));
            loop {
                let c = p.next()?;
                if c != q.next()? {
                    break false;
                }
                if c.is_none() {
                    break true;
                }
            }
        }
        (N::None, N::None) => true,
        _ => match (int(x), int(y)) {
            (Some(x), Some(y)) => x == y,
            _ if [x, y].iter().all(|n| matches!(n, N::Str { .. } | N::None | N::Int(_) | N::Bool(_))) => false,
            _ => return Err(Stop::KeyType),
        },
    })
}

/// An INT or LONG line (without its newline; LONG's `L` stripped) as brine reads it: Python
/// whitespace around, an optional sign, ASCII digits without leading zeros (`00` is 0).
#[cfg(lean_full)]
fn decimal(line: &[u8]) -> Result<i64, Stop> {
    let text = |b: &u8| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let start = line.iter().position(text).unwrap_or(line.len());
    let end = line.iter().rposition(text).map_or(start, |i| i + 1);
    let trimmed = line.get(start..end).unwrap_or(&[]);
    let (negative, digits) = match trimmed {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, trimmed),
    };
    let leading_zero = digits.len() > 1 && digits[0] == b'0' && digits.iter().any(|&d| d != b'0');
    if digits.is_empty() || leading_zero || !digits.iter().all(u8::is_ascii_digit) {
        return Err(Stop::Slow);
    }
    // Negative while accumulating: i64::MIN fits.
    let mut v = 0i64;
    for &d in digits {
        v = v.checked_mul(10).and_then(|v| v.checked_sub(i64::from(d - b'0'))).ok_or(Stop::BigInt)?;
    }
    if negative {
        Ok(v)
    } else {
        v.checked_neg().ok_or(Stop::BigInt)
    }
}

/// A LONG1/LONG4 payload (little-endian two's complement, empty = 0); `BigInt` past 64 bits.
#[cfg(lean_full)]
fn le_int(le: &[u8]) -> Result<i64, Stop> {
    let negative = le.last().is_some_and(|&b| b & 0x80 != 0);
    let fill = if negative { 0xff } else { 0 };
    let (low, high) = le.split_at(le.len().min(8));
    let mut buf = [fill; 8];
    for (to, &from) in buf.iter_mut().zip(low) {
        *to = from;
    }
    let v = i64::from_le_bytes(buf);
    if high.iter().any(|&b| b != fill) || (v < 0) != negative {
        return Err(Stop::BigInt);
    }
    Ok(v)
}

/// A Python 2 string's node (STRING, BINSTRING, SHORT_BINSTRING): a str if ASCII, else bytes,
/// as brine loads it.
#[cfg(lean_full)]
fn text_node(start: usize, raw: &[u8]) -> N {
    let (start, len) = (start as u32, raw.len() as u32);
    if ascii(raw) {
        N::Str {
            start,
            len,
            key: key_slot(raw),
        }
    } else {
        N::Bytes { start, len }
    }
}

/// The builtin GLOBAL or STACK_GLOBAL names, as brine's `builtin` (`__builtin__` under
/// protocols 0-2, as CPython 3 maps it); `Opcode` for any other global.
#[cfg(lean_full)]
fn builtin(module: &[u8], name: &[u8], proto: u8) -> Result<Builtin, Stop> {
    let builtins = module == b"builtins" || (module == b"__builtin__" && proto < 3);
    Ok(match (module, name) {
        (_, b"set") if builtins => Builtin::Set,
        (_, b"frozenset") if builtins => Builtin::FrozenSet,
        (_, b"bytes") if builtins => Builtin::Bytes,
        (_, b"bytearray") if builtins => Builtin::ByteArray,
        (b"_codecs", b"encode") => Builtin::Encode,
        _ => return Err(Stop::Opcode),
    })
}

/// At STOP when a container was pushed twice (GET, BINGET, LONG_BINGET or DUP of one): one
/// walk of the value from `root` for its exact depth and expansion (a shared container counted
/// at each place, as brine's STOP walk), the fill-time figures of its parents being stale once
/// it grew; a container inside itself (a cycle: CPython builds it, brine marks it) is counted
/// and not entered. `Capacity` past MAX_DEPTH or MAX_EXPANSION.
#[cfg(lean_full)]
fn walk(a: &Arena, root: u16) -> Result<(), Stop> {
    let mut path = [(0u16, 0u16); MAX_DEPTH as usize];
    let (mut depth, mut expansion, mut id) = (0usize, 0u32, root);
    loop {
        let node = a.nodes.get(usize::from(id)).ok_or(Stop::Slow)?;
        expansion += match node {
            N::Str { len, .. } => len + 1,
            _ => 1,
        };
        if expansion > MAX_EXPANSION {
            return Err(CAPACITY);
        }
        if matches!(node, N::Seq(_)) && !path[..depth].iter().any(|&(on, _)| on == id) {
            *path.get_mut(depth).ok_or(CAPACITY)? = (id, 0);
            depth += 1;
        }
        // The next item: of the innermost container with one left.
        loop {
            let Some((on, next)) = depth.checked_sub(1).map(|top| &mut path[top]) else {
                return Ok(());
            };
            let Some(N::Seq(s)) = a.nodes.get(usize::from(*on)) else {
                return Err(Stop::Slow);
            };
            if *next < s.len {
                id = *a.items.get(usize::from(s.first) + usize::from(*next)).ok_or(Stop::Slow)?;
                *next += 1;
                break;
            }
            depth -= 1;
        }
    }
}

/// CPython's `hash()` of an int, bool or None set item, as the server's 64-bit `size_t`
/// (`hash(None)` as CPython 3.12+, as brine); `None` for other types (a str's hash differs
/// per CPython process: such a set keeps pickle order, as brine's).
#[cfg(lean_full)]
fn fixed_hash(node: &N) -> Option<u64> {
    const P: u64 = (1 << 61) - 1;
    let v = match *node {
        N::Int(v) => v,
        N::Bool(b) => i64::from(b),
        N::None => return Some(0xfca8_6420),
        _ => return None,
    };
    // |v| modulo 2**61 - 1 by folding (no 64-bit division), the sign after; -1 is -2.
    let x = v.unsigned_abs();
    let x = (x & P) + (x >> 61);
    let h = if x >= P { x - P } else { x } as i64;
    let h = if v < 0 { -h } else { h };
    Some(if h == -1 { -2 } else { h } as u64)
}

/// Puts `item` (hash `hash`) in the first free slot CPython's set probe finds in `table`
/// (`Objects/setobject.c`: 9 linear probes, then perturbation by 5 bits).
#[cfg(lean_full)]
fn probe(table: &mut [u16], mask: usize, item: u16, hash: u64) {
    let (mut i, mut perturb) = ((hash & mask as u64) as usize, hash);
    loop {
        let probes = if i + 9 <= mask { 9 } else { 0 };
        for slot in table.iter_mut().skip(i).take(probes + 1) {
            if *slot == u16::MAX {
                *slot = item;
                return;
            }
        }
        perturb >>= 5;
        i = ((i as u64 * 5 + 1 + perturb) & mask as u64) as usize;
    }
}

/// At STOP: each set or frozenset of 2 or more items, all ints, bools or None, put in the
/// order CPython's table holds them after adding them in pickle order (as brine's
/// `order_set`), in the memo's room (free at STOP): tables up to 512 slots, so sets of up
/// to 306 items; larger ones, and any holding another type, keep pickle order.
#[cfg(lean_full)]
fn order_sets(a: &mut Arena) {
    let Arena { nodes, items, memo, n_nodes, .. } = a;
    let (table, spare) = memo.split_at_mut(512);
    'sets: for node in nodes.iter().take(*n_nodes) {
        let N::Seq(s) = *node else { continue };
        if !matches!(s.kind, Kind::Set | Kind::FrozenSet) || s.len < 2 {
            continue;
        }
        let Some(set) = items.get_mut(usize::from(s.first)..usize::from(s.first) + usize::from(s.len)) else {
            continue;
        };
        let hash = |id: u16| nodes.get(usize::from(id)).and_then(fixed_hash);
        if set.iter().any(|&id| hash(id).is_none()) {
            continue;
        }
        let (mut mask, mut fill) = (7usize, 0usize);
        table[..8].fill(u16::MAX);
        for &item in set.iter() {
            probe(table, mask, item, hash(item).unwrap_or(0));
            fill += 1;
            if fill * 5 >= mask * 3 {
                // Resize to the smallest power of 2 above 4 * used, re-adding in table order.
                let mut size = 8;
                while size <= fill * 4 {
                    size <<= 1;
                }
                if size > table.len() {
                    continue 'sets;
                }
                spare[..=mask].copy_from_slice(&table[..=mask]);
                table[..size].fill(u16::MAX);
                for &old in spare[..=mask].iter().filter(|&&id| id != u16::MAX) {
                    probe(table, size - 1, old, hash(old).unwrap_or(0));
                }
                mask = size - 1;
            }
        }
        let mut slots = table[..=mask].iter().filter(|&&id| id != u16::MAX);
        for (to, &from) in set.iter_mut().zip(&mut slots) {
            *to = from;
        }
    }
}

/// `lean_full`: memo slot `i` (any index below MEMO) set to `id`; the slots up to it that
/// were never filled are `NIL`, `holes` of them (one copy for every caller: flash first).
#[cfg(lean_full)]
#[inline(never)]
fn memo_put(memo: &mut [u16; MEMO], len: &mut usize, holes: &mut usize, i: usize, id: u16) -> Result<(), Stop> {
    if i >= MEMO {
        return Err(CAPACITY);
    }
    if i >= *len {
        for slot in &mut memo[*len..i] {
            *slot = NIL;
        }
        *holes += i - *len;
        *len = i + 1;
    } else if memo[i] == NIL {
        *holes -= 1;
    }
    memo[i] = id;
    Ok(())
}

/// Decodes `input` into `a`; the root's node id.
fn decode(a: &mut Arena, input: &[u8]) -> Result<u16, Stop> {
    a.n_nodes = 0;
    a.n_items = 0;
    let (mut pos, mut sp, mut mp, mut memo_len) = (0usize, 0usize, 0usize, 0usize);
    let mut window = input.len();
    let mut shared = false;
    #[cfg(lean_full)]
    let mut proto = 0u8;
    // A MEMOIZE right after a new value runs with it (no dispatch), as brine's fast_leaf.
    #[cfg(not(lean_full))]
    macro_rules! memoize {
        ($id:expr) => {{
            if input.get(pos) == Some(&0x94) {
                *a.memo.get_mut(memo_len).ok_or(CAPACITY)? = $id;
                memo_len += 1;
                pos += 1;
            }
        }};
    }
    // `lean_full`: the memo as brine's, any index (below MEMO): slots up to the highest index
    // put (`memo_len`), the unfilled ones `NIL` (`holes` of them); MEMOIZE puts at CPython's
    // `len(memo)`, the slots filled.
    #[cfg(lean_full)]
    let mut holes = 0usize;
    #[cfg(lean_full)]
    macro_rules! put {
        ($i:expr, $id:expr) => {{
            let (i, id): (usize, u16) = ($i, $id);
            memo_put(&mut a.memo, &mut memo_len, &mut holes, i, id)?;
        }};
    }
    #[cfg(lean_full)]
    macro_rules! memoize {
        ($id:expr) => {{
            if input.get(pos) == Some(&0x94) {
                put!(memo_len - holes, $id);
                pos += 1;
            }
        }};
    }
    macro_rules! push_node {
        ($node:expr) => {{
            let id = a.n_nodes;
            *a.nodes.get_mut(id).ok_or(CAPACITY)? = $node;
            a.n_nodes = id + 1;
            *a.stack.get_mut(sp).ok_or(CAPACITY)? = id as u16;
            sp += 1;
            memoize!(id as u16);
        }};
    }
    #[cfg(lean_full)]
    macro_rules! text_line {
        () => {{
            let rest = input.get(pos..window).ok_or(Stop::Slow)?;
            let n = rest.iter().position(|&b| b == b'\n').ok_or(Stop::Slow)?;
            pos += n + 1;
            &rest[..n]
        }};
    }
    macro_rules! arg {
        ($n:expr) => {{
            let end = pos + $n;
            let bytes = input.get(pos..end).filter(|_| end <= window).ok_or(Stop::Slow)?;
            pos = end;
            bytes
        }};
    }
    loop {
        #[cfg(lean_full)]
        {
            a.at = pos;
        }
        let op = *input.get(pos).ok_or(Stop::Slow)?;
        pos += 1;
        match op {
            0x80 => {
                let v = arg!(1)[0];
                if v > 5 {
                    return Err(Stop::Slow);
                }
                #[cfg(lean_full)]
                {
                    proto = v;
                }
            }
            0x95 => {
                let len = u64::from_le_bytes(arg!(8).try_into().map_err(|_| Stop::Slow)?);
                if len > (input.len() - pos) as u64 {
                    return Err(Stop::Slow);
                }
                window = pos + len as usize;
            }
            0x94 => {
                // MEMOIZE
                let top = *a.stack.get(sp.wrapping_sub(1)).ok_or(Stop::Slow)?;
                if mp > 0 && a.marks[mp - 1] as usize == sp {
                    return Err(Stop::Slow); // a MARK on top
                }
                #[cfg(not(lean_full))]
                {
                    *a.memo.get_mut(memo_len).ok_or(CAPACITY)? = top;
                    memo_len += 1;
                }
                #[cfg(lean_full)]
                put!(memo_len - holes, top);
            }
            b'h' => {
                // BINGET
                let i = usize::from(arg!(1)[0]);
                if i >= memo_len {
                    return Err(Stop::Slow);
                }
                let id = a.memo[i];
                #[cfg(lean_full)]
                if id == NIL {
                    return Err(Stop::Slow); // CPython's KeyError
                }
                shared |= matches!(a.nodes.get(id as usize), Some(N::Seq(_)));
                *a.stack.get_mut(sp).ok_or(CAPACITY)? = id;
                sp += 1;
            }
            0x8c => {
                // SHORT_BINUNICODE
                let n = usize::from(arg!(1)[0]);
                let start = pos;
                let raw = arg!(n);
                if !ascii(raw) && !utf8(raw) {
                    return Err(Stop::Slow);
                }
                push_node!(N::Str {
                    start: start as u32,
                    len: n as u32,
                    key: key_slot(raw)
                });
            }
            b'(' => {
                *a.marks.get_mut(mp).ok_or(CAPACITY)? = sp as u16;
                mp += 1;
            }
            b'N' => push_node!(N::None),
            0x88 => push_node!(N::Bool(true)),
            0x89 => push_node!(N::Bool(false)),
            b'K' => {
                let v = arg!(1)[0];
                push_node!(N::Int(i64::from(v)))
            }
            b'M' => {
                let b = arg!(2);
                push_node!(N::Int(i64::from(u16::from_le_bytes([b[0], b[1]]))))
            }
            b'G' => {
                let b = arg!(8);
                push_node!(N::Float(f64::from_be_bytes(b.try_into().map_err(|_| Stop::Slow)?)))
            }
            b']' | b'}' => {
                let (kind, unhashable) = if op == b']' {
                    (Kind::List, true)
                } else {
                    (Kind::Dict, true)
                };
                push_node!(N::Seq(Seq {
                    kind,
                    first: 0,
                    len: 0,
                    depth: 1,
                    expansion: 1,
                    unhashable
                }))
            }
            0x86 => {
                // TUPLE2
                let from = sp.checked_sub(2).ok_or(Stop::Slow)?;
                if mp > 0 && a.marks[mp - 1] as usize > from {
                    return Err(Stop::Slow);
                }
                let id = a.n_nodes;
                *a.nodes.get_mut(id).ok_or(CAPACITY)? = N::Seq(Seq {
                    kind: Kind::Tuple,
                    first: 0,
                    len: 0,
                    depth: 1,
                    expansion: 1,
                    unhashable: false,
                });
                a.n_nodes = id + 1;
                a.fill(input, id as u16, from, sp)?;
                sp = from;
                a.stack[sp] = id as u16;
                sp += 1;
                memoize!(id as u16);
            }
            b'a' => {
                // APPEND
                let from = sp.checked_sub(1).ok_or(Stop::Slow)?;
                if mp > 0 && a.marks[mp - 1] as usize > from.wrapping_sub(1) {
                    return Err(Stop::Slow);
                }
                let target = *a.stack.get(from.wrapping_sub(1)).ok_or(Stop::Slow)?;
                if !matches!(a.nodes.get(target as usize), Some(N::Seq(Seq { kind: Kind::List, .. }))) {
                    return Err(Stop::Slow);
                }
                a.fill(input, target, from, sp)?;
                sp = from;
            }
            b'e' | b'u' => {
                // APPENDS, SETITEMS
                mp = mp.checked_sub(1).ok_or(Stop::Slow)?;
                let mark = a.marks[mp] as usize;
                let target = *a.stack.get(mark.wrapping_sub(1)).ok_or(Stop::Slow)?;
                let want = if op == b'e' { Kind::List } else { Kind::Dict };
                if mp > 0 && a.marks[mp - 1] as usize == mark {
                    return Err(Stop::Slow); // the target is a MARK
                }
                match a.nodes.get(target as usize) {
                    Some(N::Seq(s)) if s.kind == want => {}
                    _ => return Err(Stop::Slow),
                }
                if sp > mark {
                    a.fill(input, target, mark, sp)?;
                }
                sp = mark;
            }
            b'.' => {
                if sp != 1 || mp != 0 || (cfg!(not(lean_full)) && shared) {
                    return Err(Stop::Slow);
                }
                #[cfg(lean_full)]
                {
                    if shared {
                        walk(a, a.stack[0])?;
                    }
                    order_sets(a);
                }
                #[cfg(lean_full)]
                if matches!(a.nodes.get(usize::from(a.stack[0])), Some(N::Builtin(_))) {
                    return Err(Stop::Opcode);
                }
                #[cfg(lean_end)]
                {
                    a.end = pos;
                }
                return Ok(a.stack[0]);
            }
            // `--cfg lean_more` (flash only, lean_flash.sh): 17 more opcodes in the same style,
            // to measure what each further opcode costs.
            #[cfg(lean_more)]
            b'J' => {
                let b = arg!(4);
                push_node!(N::Int(i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))))
            }
            #[cfg(lean_more)]
            b'X' | b'C' | b'B' => {
                // BINUNICODE, SHORT_BINBYTES, BINBYTES
                let n = if op == b'C' {
                    usize::from(arg!(1)[0])
                } else {
                    let b = arg!(4);
                    u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
                };
                let start = pos;
                let raw = arg!(n);
                if op == b'X' {
                    if !ascii(raw) && !utf8(raw) {
                        return Err(Stop::Slow);
                    }
                    push_node!(N::Str {
                        start: start as u32,
                        len: n as u32,
                        key: key_slot(raw)
                    });
                } else {
                    push_node!(N::Bytes {
                        start: start as u32,
                        len: n as u32
                    });
                }
            }
            #[cfg(lean_more)]
            b')' | 0x85 | 0x87 | b't' | b'l' | b'd' => {
                // EMPTY_TUPLE, TUPLE1, TUPLE3; TUPLE, LIST, DICT (down to the MARK)
                let from = match op {
                    b')' => sp,
                    0x85 => sp.checked_sub(1).ok_or(Stop::Slow)?,
                    0x87 => sp.checked_sub(3).ok_or(Stop::Slow)?,
                    _ => {
                        mp = mp.checked_sub(1).ok_or(Stop::Slow)?;
                        a.marks[mp] as usize
                    }
                };
                if from > sp
                    || (matches!(op, b')' | 0x85 | 0x87) && mp > 0 && a.marks[mp - 1] as usize > from)
                {
                    return Err(Stop::Slow);
                }
                let kind = match op {
                    b'l' => Kind::List,
                    b'd' => Kind::Dict,
                    _ => Kind::Tuple,
                };
                let id = a.n_nodes;
                *a.nodes.get_mut(id).ok_or(CAPACITY)? = N::Seq(Seq {
                    kind,
                    first: 0,
                    len: 0,
                    depth: 1,
                    expansion: 1,
                    unhashable: !matches!(kind, Kind::Tuple),
                });
                a.n_nodes = id + 1;
                if sp > from {
                    a.fill(input, id as u16, from, sp)?;
                }
                sp = from;
                *a.stack.get_mut(sp).ok_or(CAPACITY)? = id as u16;
                sp += 1;
                memoize!(id as u16);
            }
            #[cfg(lean_more)]
            b's' => {
                // SETITEM
                let from = sp.checked_sub(2).ok_or(Stop::Slow)?;
                if mp > 0 && a.marks[mp - 1] as usize > from.wrapping_sub(1) {
                    return Err(Stop::Slow);
                }
                let target = *a.stack.get(from.wrapping_sub(1)).ok_or(Stop::Slow)?;
                if !matches!(a.nodes.get(target as usize), Some(N::Seq(Seq { kind: Kind::Dict, .. }))) {
                    return Err(Stop::Slow);
                }
                a.fill(input, target, from, sp)?;
                sp = from;
            }
            #[cfg(lean_more)]
            b'q' | b'r' => {
                // BINPUT, LONG_BINPUT: sequential indices only (others to the slow path; any
                // with `lean_full`)
                let i = if op == b'q' {
                    usize::from(arg!(1)[0])
                } else {
                    let b = arg!(4);
                    u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
                };
                let top = *a.stack.get(sp.wrapping_sub(1)).ok_or(Stop::Slow)?;
                if (cfg!(not(lean_full)) && i != memo_len) || (mp > 0 && a.marks[mp - 1] as usize == sp) {
                    return Err(Stop::Slow);
                }
                #[cfg(not(lean_full))]
                {
                    *a.memo.get_mut(memo_len).ok_or(CAPACITY)? = top;
                    memo_len += 1;
                }
                #[cfg(lean_full)]
                put!(i, top);
            }
            #[cfg(lean_more)]
            b'j' | b'2' => {
                // LONG_BINGET, DUP
                let id = if op == b'j' {
                    let b = arg!(4);
                    let i = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
                    if i >= memo_len {
                        return Err(Stop::Slow);
                    }
                    #[cfg(lean_full)]
                    if a.memo[i] == NIL {
                        return Err(Stop::Slow);
                    }
                    a.memo[i]
                } else {
                    if mp > 0 && a.marks[mp - 1] as usize == sp {
                        return Err(Stop::Slow);
                    }
                    *a.stack.get(sp.wrapping_sub(1)).ok_or(Stop::Slow)?
                };
                shared |= matches!(a.nodes.get(id as usize), Some(N::Seq(_)));
                *a.stack.get_mut(sp).ok_or(CAPACITY)? = id;
                sp += 1;
            }
            #[cfg(lean_more)]
            b'0' | b'1' => {
                // POP (a MARK on top is popped), POP_MARK
                if op == b'1' || (mp > 0 && a.marks[mp - 1] as usize == sp) {
                    mp = mp.checked_sub(1).ok_or(Stop::Slow)?;
                    if op == b'1' {
                        sp = a.marks[mp] as usize;
                    }
                } else {
                    sp = sp.checked_sub(1).ok_or(Stop::Slow)?;
                }
            }
            // `--cfg lean_full` (lean_client_flash.rs): the other opcodes the smallest build
            // accepts, each read as CPython's unpickler reads it; the rest refused with a code.
            #[cfg(lean_full)]
            b'I' | b'L' => {
                // INT ("00"/"01" and their like are bools, as the C unpickler), LONG
                let line = text_line!();
                let boolean = op == b'I'
                    && matches!(line, [b'0' | b'+' | b' ' | b'\t' | 0x0b | 0x0c | b'\r', b'0' | b'1'] | [b'-', b'0']);
                let node = if boolean {
                    N::Bool(line[1] == b'1')
                } else {
                    let digits = match line {
                        [digits @ .., b'L'] if op == b'L' => digits,
                        _ => line,
                    };
                    let start = (pos - line.len() - 1) as u32;
                    match decimal(digits) {
                        Ok(v) => N::Int(v),
                        // Past 64 bits: a span of the digits (at most Python's 4300)
                        Err(Stop::BigInt) if digits.len() <= 4300 => N::Big {
                            start,
                            len: digits.len() as u32,
                            decimal: true,
                        },
                        Err(stop) => return Err(stop),
                    }
                };
                push_node!(node)
            }
            #[cfg(lean_full)]
            0x8a | 0x8b => {
                // LONG1, LONG4 (a negative count is an error)
                let n = if op == 0x8a {
                    usize::from(arg!(1)[0])
                } else {
                    let b = arg!(4);
                    usize::try_from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])).map_err(|_| Stop::Slow)?
                };
                let start = pos as u32;
                let node = match le_int(arg!(n)) {
                    Ok(v) => N::Int(v),
                    // Past 64 bits: a span of the bytes (any length, as CPython)
                    Err(_) => N::Big {
                        start,
                        len: n as u32,
                        decimal: false,
                    },
                };
                push_node!(node)
            }
            #[cfg(lean_full)]
            b'S' | b'V' => {
                // STRING (quoted), UNICODE (raw-unicode-escape): without escapes only
                let line = text_line!();
                let start = pos - line.len() - 1;
                let (start, text) = match (op, line) {
                    (b'V', _) => (start, line),
                    (_, [q @ (b'\'' | b'"'), text @ .., last]) if q == last => (start + 1, text),
                    _ => return Err(Stop::Slow), // STRING's argument must be quoted
                };
                let node = if !text.contains(&b'\\') && ascii(text) {
                    text_node(start, text)
                } else {
                    let enc = if op == b'V' { Enc::RawUnicode } else { Enc::Literal };
                    let mut chars = Chars {
                        rest: text,
                        enc: Some(enc),
                        backslash: false,
                    };
                    let mut high = 0;
                    while let Some(c) = chars.next()? {
                        high |= c;
                    }
                    N::Esc {
                        start: start as u32,
                        len: text.len() as u32,
                        enc: Some(enc),
                        kind: if enc == Enc::Literal && high > 0x7f { EscKind::Bytes } else { EscKind::Str },
                    }
                };
                push_node!(node)
            }
            #[cfg(lean_full)]
            b'T' | b'U' | 0x8d | 0x8e | 0x96 => {
                // BINSTRING, SHORT_BINSTRING, BINUNICODE8, BINBYTES8, BYTEARRAY8
                let n = match op {
                    b'U' => usize::from(arg!(1)[0]),
                    b'T' => {
                        let b = arg!(4);
                        usize::try_from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])).map_err(|_| Stop::Slow)?
                    }
                    _ => {
                        let n = u64::from_le_bytes(arg!(8).try_into().map_err(|_| Stop::Slow)?);
                        usize::try_from(n).map_err(|_| Stop::Slow)?
                    }
                };
                let start = pos;
                let raw = arg!(n);
                let (start32, len) = (start as u32, n as u32);
                let node = match op {
                    0x8d => {
                        if !ascii(raw) && !utf8(raw) {
                            return Err(Stop::Slow);
                        }
                        N::Str {
                            start: start32,
                            len,
                            key: key_slot(raw),
                        }
                    }
                    0x8e => N::Bytes { start: start32, len },
                    0x96 => N::ByteArray { start: start32, len },
                    _ => text_node(start, raw),
                };
                push_node!(node)
            }
            #[cfg(lean_full)]
            b'p' => {
                // PUT (a negative index is an error)
                let i = usize::try_from(decimal(text_line!())?).map_err(|_| Stop::Slow)?;
                let top = *a.stack.get(sp.wrapping_sub(1)).ok_or(Stop::Slow)?;
                if mp > 0 && a.marks[mp - 1] as usize == sp {
                    return Err(Stop::Slow);
                }
                put!(i, top);
            }
            #[cfg(lean_full)]
            b'g' => {
                // GET
                let i = decimal(text_line!())?;
                if !(0..memo_len as i64).contains(&i) || a.memo[i as usize] == NIL {
                    return Err(Stop::Slow);
                }
                let id = a.memo[i as usize];
                shared |= matches!(a.nodes.get(id as usize), Some(N::Seq(_)));
                *a.stack.get_mut(sp).ok_or(CAPACITY)? = id;
                sp += 1;
            }
            #[cfg(lean_full)]
            0x8f => push_node!(N::Seq(Seq {
                kind: Kind::Set,
                first: 0,
                len: 0,
                depth: 1,
                expansion: 1,
                unhashable: true
            })),
            #[cfg(lean_full)]
            0x90 | 0x91 => {
                // ADDITEMS (to the set below the MARK), FROZENSET (of the items above it)
                mp = mp.checked_sub(1).ok_or(Stop::Slow)?;
                let mark = a.marks[mp] as usize;
                let target = if op == 0x90 {
                    let target = *a.stack.get(mark.wrapping_sub(1)).ok_or(Stop::Slow)?;
                    let is_set = matches!(a.nodes.get(target as usize), Some(N::Seq(Seq { kind: Kind::Set, .. })));
                    if !is_set || (mp > 0 && a.marks[mp - 1] as usize == mark) {
                        return Err(Stop::Slow);
                    }
                    target
                } else {
                    let id = a.n_nodes;
                    *a.nodes.get_mut(id).ok_or(CAPACITY)? = N::Seq(Seq {
                        kind: Kind::FrozenSet,
                        first: 0,
                        len: 0,
                        depth: 1,
                        expansion: 1,
                        unhashable: false,
                    });
                    a.n_nodes = id + 1;
                    id as u16
                };
                if sp > mark {
                    a.fill(input, target, mark, sp)?;
                }
                sp = mark;
                if op == 0x91 {
                    *a.stack.get_mut(sp).ok_or(CAPACITY)? = target;
                    sp += 1;
                    memoize!(target);
                }
            }
            #[cfg(lean_full)]
            b'c' | 0x93 => {
                // GLOBAL (two lines), STACK_GLOBAL (two strs)
                let (module, name) = if op == b'c' {
                    (text_line!(), text_line!())
                } else {
                    let from = sp.checked_sub(2).ok_or(Stop::Slow)?;
                    if mp > 0 && a.marks[mp - 1] as usize > from {
                        return Err(Stop::Slow);
                    }
                    let text = |id: u16| match a.nodes.get(usize::from(id)) {
                        Some(&N::Str { start, len, .. }) => input.get(start as usize..(start + len) as usize),
                        _ => None,
                    };
                    sp = from;
                    let module = text(a.stack[from]).ok_or(Stop::Opcode)?;
                    (module, text(a.stack[from + 1]).ok_or(Stop::Opcode)?)
                };
                push_node!(N::Builtin(builtin(module, name, proto)?))
            }
            #[cfg(lean_full)]
            b'R' => {
                // REDUCE: only CPython's patterns for builtin data (brine's `reduce`)
                let from = sp.checked_sub(2).ok_or(Stop::Slow)?;
                if mp > 0 && a.marks[mp - 1] as usize > from {
                    return Err(Stop::Slow);
                }
                let node = |id: u16| a.nodes.get(usize::from(id)).copied().ok_or(Stop::Slow);
                let (N::Builtin(callable), N::Seq(args)) = (node(a.stack[from])?, node(a.stack[from + 1])?) else {
                    return Err(Stop::Opcode);
                };
                let arg = |i: usize| a.items[usize::from(args.first) + i];
                let latin1 = |id: u16| match node(id) {
                    Ok(N::Str { start, len, .. }) => input.get(start as usize..(start + len) as usize),
                    _ => None,
                };
                sp = from;
                let bytes = |start, len| {
                    if callable == Builtin::ByteArray {
                        N::ByteArray { start, len }
                    } else {
                        N::Bytes { start, len }
                    }
                };
                let made = match (callable, args.kind, args.len) {
                    (Builtin::Set | Builtin::FrozenSet, Kind::Tuple, 0 | 1) => {
                        let source = if args.len == 1 { Some(node(arg(0))?) } else { None };
                        let (first, len) = match source {
                            None => (0, 0),
                            Some(N::Seq(Seq { kind: Kind::List, first, len, .. })) => {
                                (usize::from(first), usize::from(len))
                            }
                            _ => return Err(Stop::Opcode),
                        };
                        let set = callable == Builtin::Set;
                        let id = a.n_nodes;
                        *a.nodes.get_mut(id).ok_or(CAPACITY)? = N::Seq(Seq {
                            kind: if set { Kind::Set } else { Kind::FrozenSet },
                            first: 0,
                            len: 0,
                            depth: 1,
                            expansion: 1,
                            unhashable: set,
                        });
                        a.n_nodes = id + 1;
                        // The list's items copied (onto the stack, then as ADDITEMS).
                        let list = a.items.get(first..first + len).ok_or(Stop::Slow)?;
                        a.stack.get_mut(sp..sp + len).ok_or(CAPACITY)?.copy_from_slice(list);
                        if len > 0 {
                            a.fill(input, id as u16, sp, sp + len)?;
                        }
                        *a.stack.get_mut(sp).ok_or(CAPACITY)? = id as u16;
                        sp += 1;
                        memoize!(id as u16);
                        continue;
                    }
                    (Builtin::Bytes | Builtin::ByteArray, Kind::Tuple, 0) => bytes(0, 0),
                    (Builtin::ByteArray, Kind::Tuple, 1) => match node(arg(0))? {
                        N::Bytes { start, len } => N::ByteArray { start, len },
                        N::Esc { start, len, enc, kind: EscKind::Bytes } => N::Esc {
                            start,
                            len,
                            enc,
                            kind: EscKind::ByteArray,
                        },
                        _ => return Err(Stop::Opcode),
                    },
                    (Builtin::Encode | Builtin::ByteArray, Kind::Tuple, 2) => {
                        // `_codecs.encode(text, 'latin1')`, `bytearray(text, 'latin-1')`: ASCII
                        // text only (a char past it is two UTF-8 bytes, one Latin-1 byte)
                        let encoding = latin1(arg(1));
                        if !matches!(encoding, Some(b"latin1" | b"latin-1")) {
                            return Err(Stop::Opcode);
                        }
                        let (start, len, enc) = match node(arg(0))? {
                            N::Str { start, len, .. } => (start, len, None),
                            N::Esc { start, len, enc, kind: EscKind::Str } => (start, len, enc),
                            _ => return Err(Stop::Opcode),
                        };
                        if enc.is_none() && ascii(latin1(arg(0)).unwrap_or(&[0x80])) {
                            bytes(start, len)
                        } else {
                            // Each code point one byte: past U+00FF, CPython's UnicodeEncodeError
                            let mut chars = Chars {
                                rest: input.get(start as usize..(start + len) as usize).unwrap_or(&[]),
                                enc,
                                backslash: false,
                            };
                            while let Some(c) = chars.next()? {
                                if c > 0xff {
                                    return Err(Stop::Slow);
                                }
                            }
                            let kind = if callable == Builtin::ByteArray { EscKind::ByteArray } else { EscKind::Bytes };
                            N::Esc { start, len, enc, kind }
                        }
                    }
                    _ => return Err(Stop::Opcode),
                };
                push_node!(made)
            }
            #[cfg(lean_full)]
            b'F' => return Err(Stop::FloatText),
            #[cfg(lean_full)]
            _ => return Err(Stop::Opcode),
            #[cfg(not(lean_full))]
            _ => return Err(Stop::Slow),
        }
    }
}
