//! The session's shortcut for the lab's acks: a message that is one `str` as CPython 3.8+
//! writes it (`pickle.dumps('...')`: PROTO 4 or 5, a FRAME of exactly the rest,
//! SHORT_BINUNICODE, MEMOIZE, STOP) is recognised by its fixed layout and read without the
//! machine. It checks exactly what the machine checks on those bytes (a test compares the
//! two); anything else goes to the machine. Kept while the machine's fixed cost per run
//! (about 280 instructions on this pickle, against about 100 here) is above it.

use crate::pickle::opcodes::{le_u64, Opcode};
use crate::pickle::text::{self, TextEncoding};
use crate::pickle::value::Str;

/// Where a one-`str` pickle's text starts: after PROTO, FRAME, SHORT_BINUNICODE and their
/// arguments (widths from the opcode table).
const TEXT_AT: usize = 3 + Opcode::PROTO.width() + Opcode::FRAME.width() + STR_WIDTH;
const STR_WIDTH: usize = Opcode::SHORT_BINUNICODE.width();

/// The pickle at the start of `input` if it is one `str` as CPython 3.8+ writes it
/// (`pickle.dumps('...')`: PROTO 4 or 5, a FRAME of exactly the rest, SHORT_BINUNICODE,
/// MEMOIZE, STOP), and its length; the text is checked as the machine checks it. Needs no
/// arena: the machine would make one node, one stack entry and one memo slot.
pub(crate) fn one_str(input: &[u8]) -> Option<(Str<'_>, usize)> {
    let (head, rest) = input.split_at_checked(TEXT_AT)?;
    let (frame_at, str_at) = (1 + Opcode::PROTO.width(), TEXT_AT - STR_WIDTH - 1);
    let ([0x80, 4 | 5, ..], 0x95, 0x8c) = (head, head[frame_at], head[str_at]) else {
        return None;
    };
    let frame = le_u64(&head[frame_at + 1..str_at]);
    let n = usize::try_from(le_u64(&head[str_at + 1..])).ok()?;
    let (raw, [0x94, b'.', ..]) = (rest.get(..n)?, rest.get(n..)?) else {
        return None;
    };
    // The frame holds SHORT_BINUNICODE, its argument, MEMOIZE and STOP.
    let framed = (1 + STR_WIDTH + n + 2) as u64;
    if frame != framed || text::validate_text(raw, TextEncoding::Utf8).is_err() {
        return None;
    }
    let text = Str {
        raw,
        enc: TextEncoding::Utf8,
    };
    Some((text, TEXT_AT + n + 2))
}

/// The text of a pickle [`one_str`] accepted (not checked again).
pub(crate) fn one_str_text(pickle: &[u8]) -> Str<'_> {
    Str {
        raw: pickle
            .get(TEXT_AT..pickle.len().saturating_sub(2))
            .unwrap_or(&[]),
        enc: TextEncoding::Utf8,
    }
}

/// Also the corpus of `de`'s from_slice-vs-machine test.
#[cfg(test)]
pub(crate) mod tests {
    extern crate std;
    use crate::pickle::{Decoder, Value};
    use std::string::String;
    use std::vec::Vec;

    include!("../../../tests/common/fixtures.rs");

    /// Seeds: CPython's bytes for the lab's common shapes, and near misses.
    const SEEDS: &[&[u8]] = &[
        CLIENT_ID,
        CLIENT_ID_STR,
        CLIENT_ID_V2,
        ACK,
        LIST,
        IDENTITY,
        EVIL,
        // pickle.dumps({'a': None, 'b': 300, 'c': b'\x00\xff', 'd': True, 'e': 1.5, 'f': -2**40}, 4)
        b"\x80\x04\x95F\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94N\x8c\x01b\x94M,\x01\x8c\x01c\x94C\x02\x00\xff\x94\x8c\x01d\x94\x88\x8c\x01e\x94G?\xf8\x00\x00\x00\x00\x00\x00\x8c\x01f\x94\x8a\x06\x00\x00\x00\x00\x00\xff\x94u.",
        // pickle.dumps((1, 'x', b'y'), 4), pickle.dumps((1, 2, 3, 4), 4), pickle.dumps((), 2)
        b"\x80\x04\x95\x0f\x00\x00\x00\x00\x00\x00\x00K\x01\x8c\x01x\x94C\x01y\x94\x87\x94.",
        b"\x80\x04\x95\x0d\x00\x00\x00\x00\x00\x00\x00(K\x01K\x02K\x03K\x04t\x94.",
        b"\x80\x02).",
        // pickle.dumps([1, 'a'], 2), pickle.dumps({'a': 1, 'b': 2}, 1)
        b"\x80\x02]q\x00(K\x01X\x01\x00\x00\x00aq\x01e.",
        b"}q\x00(X\x01\x00\x00\x00aq\x01K\x01X\x01\x00\x00\x00bq\x02K\x02u.",
        // A repeated key (the machine decides), a nested list, a memo read.
        b"\x80\x04}\x94(\x8c\x01a\x94K\x01\x8c\x01a\x94K\x02u.",
        b"\x80\x04]\x94(]\x94K\x01ae.",
        b"\x80\x04\x8c\x01a\x94h\x00\x86.",
        // A FRAME that claims more than the pickle holds.
        b"\x80\x04\x95\x40\x00\x00\x00\x00\x00\x00\x00K\x01.",
    ];

    /// Every truncation and many one-byte changes of each seed.
    pub(crate) fn corpus() -> Vec<Vec<u8>> {
        let bytes = b"\x00\x01\x02\x05\x7f\x80\xff.()]}tsuaeKMJNq\x94h\x8c\x95\x85\x86\x87\x88\x8aGXCB\xc3\xe9";
        let mut out = Vec::from([big_message().to_vec()]);
        for seed in SEEDS {
            for cut in 0..=seed.len() {
                out.push(seed[..cut].to_vec());
            }
            for i in 0..seed.len() {
                for &b in bytes {
                    let mut p = seed.to_vec();
                    p[i] = b;
                    out.push(p);
                }
            }
        }
        // Under Miri (about 10,000 times slower) every 40th input: still every seed, cut and
        // mutated, in a few minutes instead of hours.
        if cfg!(miri) {
            out = out.into_iter().step_by(40).collect();
        }
        out
    }

    fn outcome(r: Result<(Value<'_>, usize), crate::pickle::Error>) -> String {
        match r {
            Ok((v, len)) => std::format!("{v:?} ({len} bytes)"),
            Err(e) => std::format!("error: {e}"),
        }
    }

    /// `one_str` takes CPython's one-`str` pickle (the ack), and whenever it answers the
    /// general machine gives the same `str` and length.
    #[test]
    fn one_str_takes_the_ack_and_agrees_with_the_machine() {
        assert!(
            super::one_str(ACK).is_some(),
            "the ack went the general way"
        );
        let mut taken = 0;
        for input in corpus() {
            let Some((text, len)) = super::one_str(&input) else {
                continue;
            };
            taken += 1;
            assert_eq!(super::one_str_text(&input[..len]).raw, text.raw);
            let mut machine: Decoder = Decoder::new();
            let want = machine
                .run(&input, true)
                .map(|(root, len)| (machine.tree(&input).value(root), len));
            assert_eq!(
                outcome(Ok((Value::Str(text), len))),
                outcome(want),
                "{input:x?}"
            );
        }
        assert!(taken > 10, "one_str took only {taken} inputs");
    }
}
