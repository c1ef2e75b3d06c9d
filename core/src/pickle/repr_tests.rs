//! Tests of [`repr`](super): moved out of `repr.rs` to keep that file short.

extern crate std;

use super::super::oracle::{hex, python3, unhex};
use super::super::printable;
use super::*;
use std::string::String;
use std::vec::Vec;

fn str_repr(s: &str) -> String {
    let mut out = String::new();
    write_str_repr(&mut out, s.chars().map(u32::from)).unwrap();
    out
}

fn bytes_repr(b: &[u8]) -> String {
    let mut out = String::new();
    write_bytes_repr(&mut out, b.iter().copied()).unwrap();
    out
}

#[test]
fn budget_cuts_at_the_limit_on_a_char_boundary_and_stays_cut() {
    for limit in 0..12 {
        let mut out = Budget::new(String::new(), limit);
        let whole = out.write_display(&"añb😀cd").unwrap();
        let text = out.into_inner();
        assert_eq!(whole, limit >= 10, "{limit}");
        assert!(
            text.len() <= limit && "añb😀cd".starts_with(&text),
            "{limit}"
        );
        assert!(text.len() + 3 >= limit.min(10), "{limit}: {text:?}");
    }
    let mut out = Budget::new(String::new(), 3);
    assert!(out.write_str("ab").is_ok());
    assert!(out.write_str("cd").is_err());
    assert!(out.write_str("").is_err());
    assert_eq!((out.is_cut(), out.left()), (true, 0));
    assert_eq!(out.into_inner(), "abc");
    // The writer's own failure is not a cut.
    struct Fails;
    impl Write for Fails {
        fn write_str(&mut self, _: &str) -> fmt::Result {
            Err(fmt::Error)
        }
    }
    assert!(Budget::new(Fails, 100).write_display(&1).is_err());
}

#[test]
fn bytearray_escapes_single_quotes_always() {
    // repr(bytearray(...)) in CPython 3.11.
    let cases: &[(&[u8], &str)] = &[
        (b"a'b", r#"bytearray(b"a\'b")"#),
        (b"a\"b", r#"bytearray(b'a"b')"#),
        (b"a'\"b", r#"bytearray(b'a\'"b')"#),
        (b"", "bytearray(b'')"),
        (b"\x00\\", r"bytearray(b'\x00\\')"),
    ];
    for (bytes, expected) in cases {
        let mut out = String::new();
        write_bytearray_repr(&mut out, bytes.iter().copied()).unwrap();
        assert_eq!(out, *expected);
    }
}

fn int_repr(le: &[u8]) -> String {
    let mut out = String::new();
    write_int_le_repr(&mut out, le).unwrap();
    out
}

fn decimal_repr(text: &[u8]) -> Result<String, fmt::Error> {
    let mut out = String::new();
    write_int_decimal_repr(&mut out, text).map(|()| out)
}

/// Python's Unicode version and the code points whose `isprintable()` differs
/// from brine's table (Unicode 14.0.0, what Python 3.11 ships).
fn isprintable_differences() -> (String, Vec<u32>) {
    let out = python3(
        r#"
import unicodedata
print(unicodedata.unidata_version)
prev = True
for cp in range(0x110000):
    p = chr(cp).isprintable()
    if p != prev:
        print(cp)
        prev = p
"#,
    );
    let mut lines = out.lines();
    let version = String::from(lines.next().unwrap());
    let toggles: Vec<u32> = lines.map(|l| l.parse().unwrap()).collect();
    let mut t = toggles.iter().peekable();
    let mut python_printable = true;
    let mut differ = Vec::new();
    for cp in 0..=0x10FFFF_u32 {
        if t.peek() == Some(&&cp) {
            t.next();
            python_printable = !python_printable;
        }
        if let Some(c) = char::from_u32(cp) {
            if printable::is_printable(c) != python_printable {
                differ.push(cp);
            }
        }
    }
    (version, differ)
}

/// Same Unicode version (Python 3.11): the same table. Other versions (3.8: 12.1,
/// 3.9/3.10: 13.0, 3.12: 15.0, 3.13: 15.1) differ only where one of the two
/// versions has the code point unassigned, so only for characters added in between.
#[test]
#[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
fn printable_table_matches_python_isprintable() {
    let (version, differ) = isprintable_differences();
    if version == printable::UNICODE_VERSION {
        assert_eq!(differ, Vec::<u32>::new(), "Unicode {version}");
    } else {
        // Python's category for each differing code point, and whether it
        // is printable there.
        let cps: Vec<String> = differ.iter().map(|cp| std::format!("{cp}")).collect();
        let out = python3(&std::format!(
                "import unicodedata\nfor cp in [{}]: print(unicodedata.category(chr(cp)), chr(cp).isprintable())",
                cps.join(",")
            ));
        let newer = version.as_str() > printable::UNICODE_VERSION;
        for (cp, line) in differ.iter().zip(out.lines()) {
            let (category, python_printable) = line.split_once(' ').unwrap();
            if newer {
                // Added after 14.0: unassigned (not printable) in ours, assigned in Python.
                assert_eq!(
                    python_printable, "True",
                    "U+{cp:04X} under Unicode {version}"
                );
            } else {
                // Added after Python's version: still unassigned there.
                assert_eq!(category, "Cn", "U+{cp:04X} under Unicode {version}");
            }
        }
        assert!(differ.len() < 10_000, "{} differences", differ.len());
    }
    assert_eq!(
        printable::TABLE_BYTES,
        2 * printable::BMP.len() + 2 * printable::PLANE1.len() + 4 * printable::REST.len()
    );
}

/// Under Python 3.11 (Unicode 14.0.0) the generator writes printable.rs byte for
/// byte; under another version it writes the same code around other tables.
#[test]
#[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
fn printable_table_is_what_the_generator_writes() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/gen_printable.py");
    let generated = python3(&std::format!(
        "sys.argv = [{script:?}]\nexec(compile(open({script:?}).read(), {script:?}, 'exec'))"
    ));
    let committed = include_str!("printable.rs");
    if generated.contains(&std::format!(
        "Unicode {} tables",
        printable::UNICODE_VERSION
    )) {
        assert_eq!(
            generated, committed,
            "regenerate: python3 scripts/gen_printable.py > core/src/pickle/printable.rs"
        );
    } else {
        // Table rows, sizes and the version are the data; the rest is the code.
        let code = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| !l.trim_start().starts_with("0x"))
                .map(|l| l.chars().filter(|c| !c.is_ascii_digit()).collect())
                .collect()
        };
        assert_eq!(code(&generated), code(committed));
    }
}

#[test]
fn str_repr_fixtures() {
    // Pasted from python3 3.11 repr().
    let cases: &[(&str, &str)] = &[
        ("", "''"),
        ("abc", "'abc'"),
        ("it's", "\"it's\""),
        ("say \"hi\"", "'say \"hi\"'"),
        ("it's \"x\"", "'it\\'s \"x\"'"),
        ("\\", "'\\\\'"),
        ("\t\n\r\x00\x1f\x7f", "'\\t\\n\\r\\x00\\x1f\\x7f'"),
        ("\u{80}\u{85}\u{a0}\u{ad}\u{e9}", "'\\x80\\x85\\xa0\\xadé'"),
        (
            "\u{2028}\u{2029}\u{feff}\u{3000}",
            "'\\u2028\\u2029\\ufeff\\u3000'",
        ),
        ("e\u{301}", "'e\u{301}'"),
        ("\u{e000}\u{f8ff}", "'\\ue000\\uf8ff'"),
        ("\u{378}\u{ffff}", "'\\u0378\\uffff'"),
        ("\u{1f600}\u{10000}", "'😀𐀀'"),
        (
            "\u{e0001}\u{f0000}\u{10ffff}",
            "'\\U000e0001\\U000f0000\\U0010ffff'",
        ),
        ("\u{1f7ff}", "'\\U0001f7ff'"),
    ];
    for (s, want) in cases {
        assert_eq!(&str_repr(s), want, "{s:?}");
    }
}

#[test]
#[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
fn str_repr_matches_python_on_random_strings() {
    let out = python3(
        r#"
import random
r = random.Random(2024)
pools = [
    [chr(c) for c in range(0x100)] + ["'", '"', '\\'] * 20,
    [chr(c) for c in [0x2028, 0x2029, 0xfeff, 0x200b, 0x061c, 0x0378, 0xe000, 0x301, 0x1f600, 0xe0001, 0x3000, 0xad]],
]
strings = [chr(c) for c in range(0x300)]
for _ in range(3000):
    n = r.randrange(0, 10)
    s = []
    for _ in range(n):
        k = r.random()
        if k < 0.5: s.append(r.choice(pools[0]))
        elif k < 0.7: s.append(r.choice(pools[1]))
        else: s.append(chr(r.choice([r.randrange(0xd800), r.randrange(0xe000, 0x110000)])))
    strings.append(''.join(s))
for s in strings:
    print(s.encode('utf-8').hex(), repr(s).encode('utf-8').hex())
"#,
    );
    let mut n = 0;
    for line in out.lines() {
        let (s, want) = line.split_once(' ').unwrap();
        let s = String::from_utf8(unhex(s)).unwrap();
        let want = String::from_utf8(unhex(want)).unwrap();
        assert_eq!(str_repr(&s), want, "{s:?}");
        n += 1;
    }
    assert_eq!(n, 0x300 + 3000);
}

#[test]
#[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
fn bytes_repr_fixtures_and_all_bytes() {
    assert_eq!(bytes_repr(b""), "b''");
    assert_eq!(bytes_repr(b"it's"), "b\"it's\"");
    assert_eq!(bytes_repr(b"'\""), "b'\\'\"'");
    assert_eq!(
        bytes_repr(b"\\\t\n\r\x00\x7f\x80\xff~ "),
        "b'\\\\\\t\\n\\r\\x00\\x7f\\x80\\xff~ '"
    );
    let out = python3(
        r#"
import random
r = random.Random(77)
cases = [bytes([i]) for i in range(256)] + [bytes(range(256)), bytes(range(255, -1, -1))]
cases += [bytes(r.choice([39, 34, 92, r.randrange(256)]) for _ in range(r.randrange(12))) for _ in range(2000)]
for b in cases:
    print(b.hex() or '-', repr(b).encode().hex())
"#,
    );
    for line in out.lines() {
        let (b, want) = line.split_once(' ').unwrap();
        let b = if b == "-" { Vec::new() } else { unhex(b) };
        let want = String::from_utf8(unhex(want)).unwrap();
        assert_eq!(bytes_repr(&b), want, "{b:?}");
    }
}

#[test]
#[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
fn max_int_bytes_is_the_4300_digit_limit() {
    let out = python3(
        r#"
import sys
assert sys.get_int_max_str_digits() == 4300
sys.set_int_max_str_digits(0)
n = 1
while len(str(2 ** (8 * (n + 1) - 1))) <= 4300:
    n += 1
sys.set_int_max_str_digits(4300)
repr(-2 ** (8 * n - 1))  # the most negative n-byte payload prints
try:
    repr(-2 ** (8 * (n + 1) - 1))
    print('no limit')
except ValueError:
    print(n)
"#,
    );
    assert_eq!(out.trim().parse::<usize>().unwrap(), MAX_INT_BYTES);
}

#[test]
#[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
fn int_repr_matches_python() {
    let out = python3(
        r#"
import pickle, random, sys
sys.set_int_max_str_digits(0)
r = random.Random(31337)
ns = [0, 1, -1, 2**63, -2**63 - 1, 2**64, 2**127, -2**127, 2**127 - 1, -2**127 - 1, 2**128, -2**128,
      2**1000, -2**1000, -(2**5000 // 3), 2**5000 // 7, 10**100, -10**100, 10**4298, -10**4298 + 1]
ns += [2 ** (8 * 1785 - 1) - 1, -2 ** (8 * 1785 - 1), 2 ** (8 * 1785 - 1) - 10**4000]
ns += [r.randrange(-2**bits, 2**bits) for bits in [r.randrange(1, 3000) for _ in range(400)]]
ns += [r.randrange(-2**200, 2**200) for _ in range(300)]
for n in ns:
    le = pickle.encode_long(n)
    assert len(le) <= 1785
    print(le.hex() or '-', n)
"#,
    );
    let mut count = 0;
    for line in out.lines() {
        let (le, want) = line.split_once(' ').unwrap();
        let le = if le == "-" { Vec::new() } else { unhex(le) };
        assert_eq!(int_repr(&le), want, "{} bytes", le.len());
        count += 1;
    }
    assert_eq!(count, 723);
    // Longest payload: both extremes.
    let mut max = std::vec![0xFF_u8; MAX_INT_BYTES];
    max[MAX_INT_BYTES - 1] = 0x7F;
    let mut min = std::vec![0u8; MAX_INT_BYTES];
    min[MAX_INT_BYTES - 1] = 0x80;
    assert_eq!(int_repr(&max).len(), 4299);
    assert_eq!(int_repr(&min).len(), 4300);
    // Non-minimal encodings (sign extension) give the same value.
    let mut wide = std::vec![0xFF_u8; 100];
    wide[0] = 0xFE;
    assert_eq!(int_repr(&wide), "-2");
    assert_eq!(int_repr(&[0u8; 100]), "0");
    let mut big = std::vec![0u8; 100];
    big[20] = 1;
    assert_eq!(
        int_repr(&big),
        "1461501637330902918203684832716283019655932542976"
    ); // 2**160
}

#[test]
#[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
fn int_repr_follows_the_4300_digit_limit_whatever_the_payload_length() {
    // 4300 digits print (some need 1786 bytes); 4301 and more are CPython's ValueError,
    // written as hex(). Sign-extended payloads give the same text.
    let out = python3(
        r#"
import pickle, sys
if hasattr(sys, "set_int_max_str_digits"):
    sys.set_int_max_str_digits(0)
for n in [10**4299, 10**4300 - 1, -(10**4300 - 1), 2**14283 + 12345, -2**14283,
          10**4300, -(10**4300), 2**14286, -2**14287]:
    le = pickle.encode_long(n)
    text = str(n) if len(str(abs(n))) <= 4300 else hex(n)
    print(le.hex(), (le + (b"\xff" if n < 0 else b"\x00") * 300).hex(), text)
"#,
    );
    let mut lengths = Vec::new();
    for line in out.lines() {
        let mut parts = line.split(' ');
        let (le, wide, want) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        lengths.push(le.len() / 2);
        assert_eq!(int_repr(&unhex(le)), want, "{} bytes", le.len() / 2);
        assert_eq!(
            int_repr(&unhex(wide)),
            want,
            "{} bytes, sign-extended",
            wide.len() / 2
        );
    }
    assert!(lengths.contains(&(MAX_INT_BYTES + 1)), "{lengths:?}");
}

#[test]
#[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
fn int_repr_beyond_the_limit_is_python_hex() {
    let out = python3(
        r#"
import pickle, random
r = random.Random(8)
for n in [2**14300, -2**14300, 2**(8*1786-1) - 1, -2**(8*1786-1), -2**15000 + 1] + [r.randrange(-2**20000, 2**20000) for _ in range(20)]:
    le = pickle.encode_long(n)
    assert len(le) > 1785
    print(le.hex(), hex(n))
"#,
    );
    for line in out.lines() {
        let (le, want) = line.split_once(' ').unwrap();
        assert_eq!(int_repr(&unhex(le)), want);
    }
    assert_eq!(int_repr(&[0u8; 2000]), "0");
    assert_eq!(int_repr(&[0xFFu8; 2000]), "-1");
}

#[test]
#[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
fn decimal_text_repr() {
    let cases: &[(&[u8], &str)] = &[
        (b"0", "0"),
        (b"00", "0"),
        (b"-0", "0"),
        (b"+0", "0"),
        (b" -000 ", "0"),
        (b"5", "5"),
        (b"+5", "5"),
        (b"-5", "-5"),
        (b" \t-123\n ", "-123"),
        (
            b"99999999999999999999999999999999999999999999",
            "99999999999999999999999999999999999999999999",
        ),
    ];
    let texts: Vec<String> = cases.iter().map(|(t, _)| hex(t)).collect();
    let out = python3(&std::format!(
        "for t in {texts:?}: print(int(bytes.fromhex(t)))"
    ));
    for ((text, want), py) in cases.iter().zip(out.lines()) {
        assert_eq!(py, *want);
        assert_eq!(decimal_repr(text).unwrap(), *want, "{text:?}");
    }
    assert!(decimal_repr(b"010").is_err());
    assert!(decimal_repr(b"").is_err());
    assert!(decimal_repr(b"12a").is_err());
}

mod never_panics {
    use super::super::super::number::{
        decimal_to_i128, decimal_to_i64, le_to_i128, le_to_i64, parse_decimal_int, parse_float_line,
    };
    use super::super::super::text::{
        bytes_iter, bytes_len, code_points, py_literal_info, text_chars, validate_latin1,
        validate_text, BytesEncoding, TextEncoding,
    };
    use super::*;
    use proptest::prelude::*;

    /// Bytes biased towards the characters that drive the escape decoders.
    fn soup() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            4 => any::<u8>(),
            3 => prop::sample::select(&b"\\\\uUx0789abcdefABCDEF'\"-+eE. \n"[..]),
        ];
        prop::collection::vec(byte, 0..40)
    }

    proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            // Under Miri: a few cases, and no failure file (Miri's isolation has no file system).
            cases: if cfg!(miri) { 4 } else { 2000 },
            failure_persistence: if cfg!(miri) { None } else { proptest::prelude::ProptestConfig::default().failure_persistence },
            ..proptest::prelude::ProptestConfig::default()
        })]

        #[test]
        fn text_functions(raw in soup()) {
            for enc in [TextEncoding::Utf8, TextEncoding::RawUnicodeEscape, TextEncoding::PyLiteral] {
                let _ = validate_text(&raw, enc);
                let _ = text_chars(&raw, enc).count();
                let mut out = String::new();
                write_str_repr(&mut out, code_points(&raw, enc)).unwrap();
                if let Ok(len) = validate_latin1(&raw, enc) {
                    let b = BytesEncoding::Latin1(enc);
                    prop_assert_eq!(bytes_len(&raw, b), len);
                    prop_assert_eq!(bytes_iter(&raw, b).count(), len);
                }
                let _ = bytes_iter(&raw, BytesEncoding::Latin1(enc)).count();
            }
            if let Ok(info) = py_literal_info(&raw) {
                prop_assert_eq!(bytes_len(&raw, BytesEncoding::PyLiteral), info.len);
                let all_ascii = bytes_iter(&raw, BytesEncoding::PyLiteral).all(|b| b.is_ascii());
                prop_assert_eq!(info.ascii, all_ascii);
            }
            let mut out = String::new();
            write_bytes_repr(&mut out, bytes_iter(&raw, BytesEncoding::PyLiteral)).unwrap();
            let _ = parse_float_line(&raw);
            let valid = parse_decimal_int(&raw).is_ok();
            let mut out = String::new();
            prop_assert_eq!(write_int_decimal_repr(&mut out, &raw).is_ok(), valid);
            if let Some(v) = decimal_to_i128(&raw) {
                prop_assert_eq!(out, std::format!("{v}"));
            }
            let _ = decimal_to_i64(&raw);
        }

        #[test]
        fn le_ints(le in prop::collection::vec(any::<u8>(), 0..40), ext in 0usize..2100, fill in any::<bool>()) {
            let mut out = String::new();
            write_int_le_repr(&mut out, &le).unwrap();
            if let Some(v) = le_to_i128(&le) {
                prop_assert_eq!(&out, &std::format!("{v}"));
            }
            let _ = le_to_i64(&le);
            // Sign-extended to any length, including past MAX_INT_BYTES
            // (then hex): same value.
            let mut wide = le.clone();
            let sign = if le.last().is_some_and(|&b| b & 0x80 != 0) { 0xFF } else { 0 };
            wide.resize(le.len() + ext, if fill { sign } else { 0 });
            let mut out2 = String::new();
            write_int_le_repr(&mut out2, &wide).unwrap();
            if fill && wide.len() <= MAX_INT_BYTES {
                prop_assert_eq!(out, out2);
            }
        }
    }
}
