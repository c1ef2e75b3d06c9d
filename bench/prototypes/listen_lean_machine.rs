// The lean machine of bench/prototypes/listen_lean.rs, included there with `include!` (that
// file's header has the design, the checks and the commands): lean_machine.rs's design with
// BININT, "need more bytes" as a value and the message's length, and a leaf as a value on the
// stack, in the memo and among a container's items, with no node of its own. Exact for what
// it accepts, `Slow` (the general machine) for everything else. s12-leanlisten added the
// entry (`start`: PROTO and FRAME in one check, a one-str pickle without the loop), the loop
// out of line and first without a memo (`run`, `run_with`), short strs checked by masked
// words (`text_ok`), and a dict's distinct-key test by key length first (`fill`). s13-dict
// added numbers kept as their argument's place (`N::Int`, `N::Float`) and the shape replay
// (`Shape`: a message of the last one's shape handed out over the arena as it is).

const SEQS: usize = 128;
const ITEMS: usize = 1024;
const STACK: usize = 256;
const MARKS: usize = 32;
const MEMO: usize = 512;
const MAX_DEPTH: u16 = 64;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    List,
    Tuple,
    Dict,
}

/// A value: a leaf itself, or a container's index in `Arena::seqs` (12 bytes). A number is
/// where its argument starts in the message (and its opcode), read when it is asked for
/// (`Msg::get`), as a str is its span: no leaf holds a value the message's bytes do not,
/// so a message of the same shape reuses the arena as it is (`Shape`).
#[derive(Clone, Copy, Debug)]
enum N {
    None,
    Bool(bool),
    /// BININT1 (`op` b'K'), BININT2 (b'M'), BININT (b'J'): the argument at `at`.
    Int {
        at: u32,
        op: u8,
    },
    /// BINFLOAT: the argument at `at`.
    Float {
        at: u32,
    },
    Str {
        start: u32,
        len: u32,
    },
    Seq(u16),
}

/// A container: its items `items[first..first + len]`, and its depth (for the limit).
#[derive(Clone, Copy)]
struct Seq {
    kind: Kind,
    first: u16,
    len: u16,
    depth: u16,
}

const EMPTY: Seq = Seq {
    kind: Kind::List,
    first: 0,
    len: 0,
    depth: 1,
};

struct Arena {
    seqs: [Seq; SEQS],
    items: [N; ITEMS],
    stack: [N; STACK],
    marks: [u16; MARKS],
    memo: [N; MEMO],
    shape: Shape,
}

impl Arena {
    fn new() -> Box<Self> {
        Box::new(Arena {
            seqs: [EMPTY; SEQS],
            items: [N::None; ITEMS],
            stack: [N::None; STACK],
            marks: [0; MARKS],
            memo: [N::None; MEMO],
            shape: Shape {
                valid: false,
                last_len: 0,
                len: 0,
                root: N::None,
                keep: [0; WORDS],
                want: [0; WORDS],
                keep_last: 0,
                want_last: 0,
            },
        })
    }
}

const WORDS: usize = RX / 8 + 1;

/// The shape of the last message `run_with` decoded without a memo, whose decoding the
/// arena still holds (`valid`): for each 8-byte word of its bytes (the last one ending at
/// its end, overlapping), the bits that must be as they were in a message of the same
/// shape (`keep`: every bit of every opcode, length, PROTO and FRAME, dict key's text; the
/// high bit of each byte of a str that is not a key, which may change but must stay ASCII)
/// and what they were (`want`; 0 for those high bits). A number's argument may
/// differ freely. A message that matches decodes, opcode by opcode, exactly as the last one
/// did (the machine's path depends on nothing else: str checks pass for ASCII, keys are the
/// same bytes, lengths and limits the same), so its value is the arena as it is, read over
/// the new bytes: no opcode is dispatched. Built when two messages in a row decoded by
/// `run_with` had the same length (a stream of one kind of message), at the second's STOP.
struct Shape {
    valid: bool,
    /// The length of the last message `run_with` decoded (to decide when to build).
    last_len: usize,
    len: usize,
    root: N,
    keep: [u64; WORDS],
    want: [u64; WORDS],
    keep_last: u64,
    want_last: u64,
}

impl Shape {
    /// Whether `input` starts with a message of this shape (then it is `self.len` long):
    /// one AND, XOR and OR per 8 bytes (a str byte's high bit is kept by `keep` and absent
    /// from `want`, so a non-ASCII byte differs as a changed opcode does).
    #[inline(always)]
    fn matches(&self, input: &[u8]) -> bool {
        let Some(msg) = input.get(..self.len).filter(|_| self.valid) else {
            return false;
        };
        let (chunks, _) = msg.as_chunks::<8>();
        let mut diff = 0u64;
        for (c, (keep, want)) in chunks.iter().zip(self.keep.iter().zip(&self.want)) {
            diff |= (u64::from_le_bytes(*c) & keep) ^ want;
        }
        // The last word, ending at the message's end (the whole message when it is a
        // multiple of 8: then it is checked twice).
        let last = msg.last_chunk::<8>().map_or(!0, |c| u64::from_le_bytes(*c));
        diff |= (last & self.keep_last) ^ self.want_last;
        diff == 0
    }

    /// Records the shape of `code` (a framed message just decoded, `len` bytes to its STOP)
    /// whose containers and items are `seqs` and `items`.
    #[cold]
    #[inline(never)]
    fn build(&mut self, code: &[u8], len: usize, seqs: &[Seq], items: &[N], root: N) {
        self.valid = false;
        if !(8..=RX).contains(&len) {
            return;
        }
        // 0: must be equal; 1: a str's text (ASCII); 2: a number's argument.
        let mut kind = [0u8; RX];
        let mut p = 11;
        while p < len {
            let op = code[p];
            let (skip, what) = match op {
                0x8c => {
                    let n = usize::from(code[p + 1]);
                    kind[p + 2..p + 2 + n].fill(1);
                    (2 + n, 0)
                }
                b'K' => (2, 2),
                b'M' => (3, 2),
                b'J' => (5, 2),
                b'G' => (9, 2),
                _ => (1, 0),
            };
            if what == 2 {
                kind[p + 1..p + skip].fill(2);
            }
            p += skip;
        }
        // Every dict's keys must be the same bytes (their distinctness was proved on them).
        for s in seqs.iter().filter(|s| s.kind == Kind::Dict) {
            let first = usize::from(s.first);
            for key in items[first..first + usize::from(s.len)].iter().step_by(2) {
                if let N::Str { start, len } = *key {
                    kind[start as usize..(start + len) as usize].fill(0);
                }
            }
        }
        let word = |at: usize| {
            let (mut keep, mut want) = (0u64, 0u64);
            for b in 0..8 {
                let byte = u64::from(code[at + b]);
                match kind[at + b] {
                    0 => {
                        keep |= 0xff << (8 * b);
                        want |= byte << (8 * b);
                    }
                    1 => keep |= 0x80 << (8 * b),
                    _ => {}
                }
            }
            (keep, want)
        };
        for i in 0..len / 8 {
            (self.keep[i], self.want[i]) = word(8 * i);
        }
        (self.keep_last, self.want_last) = word(len - 8);
        (self.len, self.root, self.valid) = (len, root, true);
    }
}

#[derive(Debug, PartialEq)]
enum Stop {
    /// The pickle at the head is not complete yet (no FRAME, or its FRAME not all in).
    More,
    /// The general machine takes this message (or reports its error).
    Slow,
    /// A BINGET met by `run_with::<false>`, which keeps no memo: `run` starts the pickle
    /// again with it. Never leaves `run`.
    Memo,
}

/// The distinct-key filter's slot of a str key (equal keys always meet; a false hit only
/// sends the message to the general path).
fn key_slot(text: &[u8]) -> u64 {
    let byte = |b: Option<&u8>| usize::from(b.copied().unwrap_or(0));
    let mix = text.len() * 5 + byte(text.first()) + byte(text.last()) * 3;
    1u64 << (mix & 63)
}

/// Whether `raw` is ASCII: words of 8 (the last one overlapping), two overlapping words of 4
/// for 4 to 7 bytes, bytes below that.
#[inline(always)]
fn ascii(raw: &[u8]) -> bool {
    let n = raw.len();
    let w8 = |i: usize| {
        raw.get(i..i + 8)
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
            .map_or(!0, u64::from_le_bytes)
    };
    let w4 = |i: usize| {
        raw.get(i..i + 4)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .map_or(!0, u32::from_le_bytes)
    };
    if n >= 8 {
        let mut high = w8(n - 8);
        let mut i = 0;
        while i + 8 < n {
            high |= w8(i);
            i += 8;
        }
        high & 0x8080_8080_8080_8080 == 0
    } else if n >= 4 {
        (w4(0) | w4(n - 4)) & 0x8080_8080 == 0
    } else {
        raw.iter().all(|&b| b < 0x80)
    }
}

/// Whether `code[start..start + n]` (in bounds: the caller has checked) is UTF-8: ASCII by
/// 8-byte words, no loop up to 32 bytes (1 to 8 bytes one word of `code` from `start` with
/// the bytes past the text shifted out, when 8 bytes are there; 9 to 16 two words, 17 to 32
/// four, overlapping); longer texts by `ascii`'s loop; a byte that is not ASCII sends the
/// text to `core::str::from_utf8`.
#[inline(always)]
fn text_ok(code: &[u8], start: usize, n: usize) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let raw = code.get(start..start + n).unwrap_or_default();
    let w = |s: &[u8], i: usize| {
        s.get(i..i + 8)
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
            .map_or(!0, u64::from_le_bytes)
    };
    let high = match n {
        0 => 0,
        1..=8 => match code.get(start..start + 8) {
            Some(_) => w(code, start) << (64 - 8 * n as u32),
            None => u64::from(!raw.is_ascii()) << 7,
        },
        9..=16 => w(raw, 0) | w(raw, n - 8),
        17..=32 => w(raw, 0) | w(raw, 8) | w(raw, n - 16) | w(raw, n - 8),
        _ => u64::from(!ascii(raw)) << 7,
    };
    high & HIGH == 0 || core::str::from_utf8(raw).is_ok()
}

/// Appends `batch` (values off the stack) to container `target`, items contiguous in
/// `items`, with the checks the general machine's result could fail on this path: depth (64)
/// and distinct str keys (a dict's keys must be strs: a non-str key, or two keys in one slot
/// of the filter, go to the general path). The general machine's expansion limit (16 MiB)
/// cannot be reached here: a container fetched twice goes to the general path at STOP, so in
/// at most 4096 bytes only strs repeat, at most 2048 BINGETs of at most 4096 bytes each. Nor
/// can hashability fail: every key is a str. So neither is tracked.
#[inline(always)]
fn fill(
    seqs: &mut [Seq; SEQS],
    items: &mut [N; ITEMS],
    n_items: &mut usize,
    code: &[u8],
    target: u16,
    batch: &[N],
) -> Result<(), Stop> {
    let c = *seqs.get(usize::from(target)).ok_or(Stop::Slow)?;
    let mut depth = 0u16;
    let mut nested = |child: N| {
        if let N::Seq(id) = child {
            depth = depth.max(seqs.get(usize::from(id)).map_or(u16::MAX - 1, |s| s.depth));
        }
    };
    if c.kind == Kind::Dict {
        if !batch.len().is_multiple_of(2) || c.len != 0 {
            return Err(Stop::Slow);
        }
        // Keys of distinct lengths are distinct: one bit per length (mod 64), no byte read.
        // Two keys in one bit: the filter over their bytes (`key_slot`), a second pass.
        let (mut seen, mut clash) = (0u64, false);
        for pair in batch.chunks_exact(2) {
            let &[N::Str { len, .. }, v] = pair else {
                return Err(Stop::Slow); // a non-str key: the general path
            };
            let bit = 1u64 << (len & 63);
            clash |= seen & bit != 0;
            seen |= bit;
            nested(v);
        }
        if clash {
            let mut seen = 0u64;
            for pair in batch.chunks_exact(2) {
                let N::Str { start, len } = pair[0] else {
                    return Err(Stop::Slow);
                };
                let text = code
                    .get(start as usize..(start + len) as usize)
                    .ok_or(Stop::Slow)?;
                let bit = key_slot(text);
                if seen & bit != 0 {
                    return Err(Stop::Slow); // maybe equal keys, which merge: the general path
                }
                seen |= bit;
            }
        }
    } else {
        for &child in batch {
            nested(child);
        }
    }
    let depth = c.depth.max(depth + 1);
    if depth > MAX_DEPTH {
        return Err(Stop::Slow);
    }
    let end = *n_items;
    if c.len != 0 && c.first as usize + c.len as usize != end {
        return Err(Stop::Slow);
    }
    let first = if c.len == 0 { end } else { c.first as usize };
    let new_end = end + batch.len();
    items
        .get_mut(end..new_end)
        .ok_or(Stop::Slow)?
        .copy_from_slice(batch);
    *n_items = new_end;
    *seqs.get_mut(usize::from(target)).ok_or(Stop::Slow)? = Seq {
        kind: c.kind,
        first: first as u16,
        len: (new_end - first) as u16,
        depth,
    };
    Ok(())
}

/// Decodes the pickle at the start of `input` into `a`: its root and its length. Accepts
/// only `PROTO ≤ 5` first, at most one FRAME right after it (which must then hold the whole
/// pickle up to STOP), and the opcodes below; STOP with exactly one value and no open MARK,
/// no container reached twice. All the hot state (position, stack and MARK heights, memo
/// and arena lengths) in locals. `start`, then `run` if it is not a one-str pickle.
#[inline(always)]
fn decode(a: &mut Arena, input: &[u8]) -> Result<(N, usize), Stop> {
    match start(input)? {
        Start::Str(root, used) => Ok((root, used)),
        Start::Run { code, pos, framed } => run(a, code, pos, framed),
    }
}

/// What the machine's entry found.
enum Start<'a> {
    /// A one-str pickle: its root and length.
    Str(N, usize),
    /// Anything else: the loop's bytes (the FRAME's, or all that arrived), where it starts,
    /// whether they are a FRAME's.
    Run {
        code: &'a [u8],
        pos: usize,
        framed: bool,
    },
}

/// The machine's entry: PROTO and FRAME read at once (their 11 bytes in one bounds check
/// when they are there), and a FRAME that holds one SHORT_BINUNICODE, maybe its MEMOIZE,
/// and STOP (an ack) taken as that str without the loop (what the loop would give: one
/// value, no MARK, nothing shared, the frame used to its end).
#[inline(always)]
fn start(input: &[u8]) -> Result<Start<'_>, Stop> {
    let (code, pos) = match input.first_chunk::<11>() {
        Some(&[0x80, v, 0x95, l0, l1, l2, l3, l4, l5, l6, l7]) => {
            if v > 5 {
                return Err(Stop::Slow);
            }
            let len = u64::from_le_bytes([l0, l1, l2, l3, l4, l5, l6, l7]);
            if len > (RX - 11) as u64 {
                return Err(Stop::Slow); // never fits: the session's framer skips it
            }
            (input.get(..11 + len as usize).ok_or(Stop::More)?, 11)
        }
        _ => return start_slow(input),
    };
    if let Some(&[0x8c, n]) = code.get(11..13) {
        let (begin, n) = (13, usize::from(n));
        if let Some(rest) = code.get(begin + n..) {
            if (rest == [b'.'] || rest == [0x94, b'.']) && text_ok(code, begin, n) {
                let root = N::Str {
                    start: begin as u32,
                    len: n as u32,
                };
                return Ok(Start::Str(root, code.len()));
            }
        }
    }
    Ok(Start::Run {
        code,
        pos,
        framed: true,
    })
}

/// The entry's other heads: fewer than 11 bytes in, no PROTO, or PROTO without a FRAME.
#[inline(never)]
fn start_slow(input: &[u8]) -> Result<Start<'_>, Stop> {
    let mut pos = 0usize;
    let mut code = input;
    let mut framed = false;
    if input.first() == Some(&0x80) {
        match input.get(1) {
            None => return Err(Stop::More),
            Some(&v) if v > 5 => return Err(Stop::Slow),
            Some(_) => pos = 2,
        }
        if input.get(2) == Some(&0x95) {
            let len = input
                .get(3..11)
                .and_then(|s| <[u8; 8]>::try_from(s).ok())
                .map(u64::from_le_bytes)
                .ok_or(Stop::More)?;
            if len > (RX - 11) as u64 {
                return Err(Stop::Slow);
            }
            code = input.get(..11 + len as usize).ok_or(Stop::More)?;
            framed = true;
            pos = 11;
        }
    }
    Ok(Start::Run { code, pos, framed })
}

/// The machine's loop from `pos` (after PROTO and FRAME). First without a memo (a MEMOIZE
/// is a byte skipped: most messages fetch nothing back); at the first BINGET the pickle is
/// decoded again from `pos` keeping the memo. Exact either way.
#[inline(always)]
fn run(a: &mut Arena, code: &[u8], pos: usize, framed: bool) -> Result<(N, usize), Stop> {
    let (mut done, mut on) = (0, |_: Msg<'_>| {});
    match run_with::<false, false, _>(a, code, &mut done, code, pos, framed, &mut on) {
        Err(Stop::Memo) => {
            run_with::<true, false, _>(a, code, &mut done, code, pos, framed, &mut on)
        }
        found => found,
    }
}

/// Decodes every complete message at the start of `input` that the machine takes without
/// a memo, handing each to `on`, in one call (no return to the listen loop between them);
/// `*done`: the bytes of those messages. Returns why it stopped at `input[*done..]`: `More`
/// (incomplete or nothing left), `Slow` or `Memo` (that message is the caller's).
#[inline(always)]
fn listen_batch<F: FnMut(Msg<'_>)>(
    a: &mut Arena,
    input: &[u8],
    done: &mut usize,
    on: &mut F,
) -> Stop {
    loop {
        let rest = input.get(*done..).unwrap_or_default();
        if rest.is_empty() {
            return Stop::More;
        }
        // A message of the last one's shape: the arena as it is, no opcode dispatched.
        if a.shape.matches(rest) {
            on(Msg {
                seqs: &a.seqs,
                items: &a.items,
                input: &rest[..a.shape.len],
                root: a.shape.root,
            });
            *done += a.shape.len;
            continue;
        }
        match start(rest) {
            Err(stop) => return stop,
            Ok(Start::Str(root, used)) => {
                on(Msg {
                    seqs: &a.seqs,
                    items: &a.items,
                    input: &rest[..used],
                    root,
                });
                *done += used;
            }
            Ok(Start::Run { code, pos, framed }) => {
                return match run_with::<false, true, F>(a, input, done, code, pos, framed, on) {
                    Err(stop) => stop,
                    Ok(_) => Stop::Slow, // a batch hands its messages out, never returns one
                };
            }
        }
    }
}

/// The machine's loop, out of line: its hot state stays in registers of its own frame, not
/// the listen loop's. `MEMO`: whether MEMOIZE records values (BINGET needs them); without,
/// a BINGET answers `Stop::Memo`.
/// `BATCH`: at a STOP the message goes to `on` and the next one at `input[*done..]` (where
/// `code` began) is decoded in the same call, until one the batch does not take.
#[inline(never)]
fn run_with<'i, const MEMO: bool, const BATCH: bool, F: FnMut(Msg<'_>)>(
    a: &mut Arena,
    input: &'i [u8],
    done: &mut usize,
    mut code: &'i [u8],
    mut pos: usize,
    mut framed: bool,
    on: &mut F,
) -> Result<(N, usize), Stop> {
    let Arena {
        seqs,
        items,
        stack,
        marks,
        memo,
        shape,
    } = a;
    // The arena is written again: no shape describes it until one is built at STOP.
    shape.valid = false;
    let (mut ns, mut ni) = (0usize, 0usize);
    let (mut sp, mut mp, mut memo_len) = (0usize, 0usize, 0usize);
    let mut shared = false;
    // Past `code`: inside a FRAME it is the general path's case, without one more bytes.
    macro_rules! short {
        () => {
            return Err(if framed { Stop::Slow } else { Stop::More })
        };
    }
    macro_rules! push {
        ($value:expr) => {{
            let value = $value;
            *stack.get_mut(sp).ok_or(Stop::Slow)? = value;
            sp += 1;
            // A MEMOIZE right after a new value runs with it (no dispatch).
            if code.get(pos) == Some(&0x94) {
                if MEMO {
                    *memo.get_mut(memo_len).ok_or(Stop::Slow)? = value;
                    memo_len += 1;
                }
                pos += 1;
            }
        }};
    }
    macro_rules! new_seq {
        ($kind:expr) => {{
            *seqs.get_mut(ns).ok_or(Stop::Slow)? = Seq {
                kind: $kind,
                first: 0,
                len: 0,
                depth: 1,
            };
            ns += 1;
            (ns - 1) as u16
        }};
    }
    macro_rules! arg {
        ($n:expr) => {{
            let end = pos + $n;
            let Some(bytes) = code.get(pos..end) else {
                short!();
            };
            pos = end;
            bytes
        }};
    }
    macro_rules! mark_above {
        ($h:expr) => {
            mp > 0 && usize::from(marks[mp - 1]) > $h
        };
    }
    loop {
        let Some(&op) = code.get(pos) else {
            short!();
        };
        pos += 1;
        match op {
            0x8c => {
                // SHORT_BINUNICODE
                let n = usize::from(arg!(1)[0]);
                let start = pos;
                arg!(n);
                if !text_ok(code, start, n) {
                    return Err(Stop::Slow);
                }
                push!(N::Str {
                    start: start as u32,
                    len: n as u32,
                });
            }
            0x94 => {
                // MEMOIZE (not after a MARK)
                if sp == 0 || (mp > 0 && usize::from(marks[mp - 1]) == sp) {
                    return Err(Stop::Slow);
                }
                if MEMO {
                    *memo.get_mut(memo_len).ok_or(Stop::Slow)? = stack[sp - 1];
                    memo_len += 1;
                }
            }
            b'h' => {
                // BINGET
                let i = usize::from(arg!(1)[0]);
                if !MEMO {
                    return Err(Stop::Memo);
                }
                if i >= memo_len {
                    return Err(Stop::Slow);
                }
                let value = memo[i];
                shared |= matches!(value, N::Seq(_));
                *stack.get_mut(sp).ok_or(Stop::Slow)? = value;
                sp += 1;
            }
            b'(' => {
                *marks.get_mut(mp).ok_or(Stop::Slow)? = sp as u16;
                mp += 1;
            }
            b'N' => push!(N::None),
            0x88 => push!(N::Bool(true)),
            0x89 => push!(N::Bool(false)),
            b'K' | b'M' | b'J' => {
                let at = pos as u32;
                arg!(match op {
                    b'K' => 1,
                    b'M' => 2,
                    _ => 4,
                });
                push!(N::Int { at, op })
            }
            b'G' => {
                let at = pos as u32;
                arg!(8);
                push!(N::Float { at })
            }
            b']' => push!(N::Seq(new_seq!(Kind::List))),
            b'}' => push!(N::Seq(new_seq!(Kind::Dict))),
            0x86 => {
                // TUPLE2
                let from = sp.checked_sub(2).ok_or(Stop::Slow)?;
                if mark_above!(from) {
                    return Err(Stop::Slow);
                }
                let id = new_seq!(Kind::Tuple);
                let batch = stack.get(from..sp).ok_or(Stop::Slow)?;
                fill(seqs, items, &mut ni, code, id, batch)?;
                sp = from;
                push!(N::Seq(id));
            }
            b'a' => {
                // APPEND
                let from = sp.checked_sub(1).ok_or(Stop::Slow)?;
                if mark_above!(from.wrapping_sub(1)) {
                    return Err(Stop::Slow);
                }
                let Some(&N::Seq(target)) = stack.get(from.wrapping_sub(1)) else {
                    return Err(Stop::Slow);
                };
                if seqs.get(usize::from(target)).map(|s| s.kind) != Some(Kind::List) {
                    return Err(Stop::Slow);
                }
                let batch = stack.get(from..sp).ok_or(Stop::Slow)?;
                fill(seqs, items, &mut ni, code, target, batch)?;
                sp = from;
            }
            b'e' | b'u' => {
                // APPENDS, SETITEMS
                mp = mp.checked_sub(1).ok_or(Stop::Slow)?;
                let mark = usize::from(marks[mp]);
                if mp > 0 && usize::from(marks[mp - 1]) == mark {
                    return Err(Stop::Slow); // the target is a MARK
                }
                let Some(&N::Seq(target)) = stack.get(mark.wrapping_sub(1)) else {
                    return Err(Stop::Slow);
                };
                let want = if op == b'e' { Kind::List } else { Kind::Dict };
                if seqs.get(usize::from(target)).map(|s| s.kind) != Some(want) {
                    return Err(Stop::Slow);
                }
                if sp > mark {
                    let batch = stack.get(mark..sp).ok_or(Stop::Slow)?;
                    fill(seqs, items, &mut ni, code, target, batch)?;
                }
                sp = mark;
            }
            b'.' => {
                if sp != 1 || mp != 0 || shared || (framed && pos != code.len()) {
                    return Err(Stop::Slow);
                }
                if !MEMO {
                    // The second message of one length in a row: its shape, for the next.
                    if framed && pos == shape.last_len {
                        shape.build(code, pos, &seqs[..ns], &items[..ni], stack[0]);
                    }
                    shape.last_len = pos;
                }
                if !BATCH {
                    return Ok((stack[0], pos));
                }
                on(Msg {
                    seqs: &seqs[..],
                    items: &items[..],
                    input: &code[..pos],
                    root: stack[0],
                });
                *done += pos;
                // The next message: a one-str pickle handed out at once, anything else
                // decoded by this loop from a fresh state.
                loop {
                    let rest = input.get(*done..).unwrap_or_default();
                    if rest.is_empty() {
                        return Err(Stop::More);
                    }
                    // A message of the last one's shape: the arena as it is.
                    if shape.matches(rest) {
                        on(Msg {
                            seqs: &seqs[..],
                            items: &items[..],
                            input: &rest[..shape.len],
                            root: shape.root,
                        });
                        *done += shape.len;
                        continue;
                    }
                    match start(rest)? {
                        Start::Str(root, used) => {
                            on(Msg {
                                seqs: &seqs[..],
                                items: &items[..],
                                input: &rest[..used],
                                root,
                            });
                            *done += used;
                        }
                        Start::Run {
                            code: next,
                            pos: at,
                            framed: whole,
                        } => {
                            (code, pos, framed) = (next, at, whole);
                            break;
                        }
                    }
                }
                (ns, ni, sp, mp, memo_len, shared) = (0, 0, 0, 0, 0, false);
                shape.valid = false;
            }
            // The table spans every byte (no range test before the jump).
            0x00 | 0xff => return Err(Stop::Slow),
            _ => return Err(Stop::Slow),
        }
    }
}
