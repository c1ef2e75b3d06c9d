//! Differential tests with CPython as the oracle.
//!
//! `tests/python/gen_cases.py` (run with the `python3` on PATH; a missing python3 fails these
//! tests, it never skips them) pickles several thousand random objects (fixed seed) with every
//! protocol 0–5, plus hand-written Python 2 pickles, and prints each pickle's hex with the
//! object's `repr()`. brine decodes every one and its `Display` must print that `repr()`.
//!
//! Sets: Python prints set elements in hash order, which brine does not reproduce. For a case
//! whose object holds a set of two or more elements, the script prints a canonical repr
//! instead (every set's elements sorted by their own canonical text), and this test builds the
//! same canonical text by walking brine's `Value` (every leaf printed by brine's own
//! `Display`). It also checks that brine's `Display` of the whole value has exactly the
//! characters of the expected text in some order. See the script's docstring.
// Every test here runs python3, which Miri cannot spawn: skipped under `cargo miri test`.
#![cfg(not(miri))]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Command;

use brine_core::pickle::{self, Decoder, Error, Value};
use serde::Deserialize;

/// Runs `gen_cases.py <mode>` and returns its output. Panics (fails the test) without python3.
fn python_cases(mode: &str) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/gen_cases.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(mode)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "this test needs python3 on PATH (CPython is the oracle) and could not run it: {e}"
            )
        });
    assert!(
        out.status.success(),
        "gen_cases.py {mode} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("gen_cases.py prints UTF-8")
}

fn unhex(hex: &str) -> Vec<u8> {
    assert!(hex.len() % 2 == 0, "odd hex length");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// `pickletools.dis` of a pickle, for failure reports (best effort).
fn pickletools_dis(hex: &str) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import pickletools, sys\n\
             try:\n    pickletools.dis(bytes.fromhex(sys.argv[1]))\n\
             except Exception as e:\n    print('pickletools:', e)",
            hex,
        ])
        .output();
    match out {
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
        Err(e) => format!("(pickletools unavailable: {e})"),
    }
}

/// An iterator item as a `Value`, whether `Seq::iter`/`Dict::iter` yield values or references.
fn val<'a>(item: impl std::borrow::Borrow<Value<'a>>) -> Value<'a> {
    *item.borrow()
}

/// True if CPython hashes `value` the same in every process (`fixed_hash` in gen_cases.py):
/// brine then orders sets holding only such values as CPython does. `none_fixed`: CPython
/// 3.12 and later (`hash(None)` is a constant there).
fn fixed_hash(value: &Value<'_>, none_fixed: bool) -> bool {
    match *value {
        Value::None => none_fixed,
        Value::Bool(_) | Value::Int(_) | Value::BigInt(_) => true,
        Value::Float(f) => !f.is_nan(),
        Value::Str(s) => s.chars().next().is_none(),
        Value::Bytes(b) => b.is_empty(),
        Value::Tuple(seq) | Value::FrozenSet(seq) => {
            seq.iter().all(|e| fixed_hash(&val(e), none_fixed))
        }
        _ => false,
    }
}

/// Python's repr with the elements of every set that holds a varying hash sorted by their
/// canonical text (see module docs). Containers are walked here; every leaf is printed by
/// brine's `Display`.
fn canon(value: &Value<'_>) -> String {
    let none_fixed = *NONE_FIXED;
    fn join(items: &[String]) -> String {
        items.join(", ")
    }
    match *value {
        Value::List(seq) => {
            let items: Vec<String> = seq.iter().map(|e| canon(&val(e))).collect();
            format!("[{}]", join(&items))
        }
        Value::Set(seq) | Value::FrozenSet(seq)
            if seq.iter().all(|e| fixed_hash(&val(e), none_fixed)) =>
        {
            value.to_string()
        }
        Value::Tuple(seq) => {
            let items: Vec<String> = seq.iter().map(|e| canon(&val(e))).collect();
            if items.len() == 1 {
                format!("({},)", items[0])
            } else {
                format!("({})", join(&items))
            }
        }
        Value::Set(seq) => {
            let mut items: Vec<String> = seq.iter().map(|e| canon(&val(e))).collect();
            items.sort();
            if items.is_empty() {
                "set()".to_string()
            } else {
                format!("{{{}}}", join(&items))
            }
        }
        Value::FrozenSet(seq) => {
            let mut items: Vec<String> = seq.iter().map(|e| canon(&val(e))).collect();
            items.sort();
            if items.is_empty() {
                "frozenset()".to_string()
            } else {
                format!("frozenset({{{}}})", join(&items))
            }
        }
        Value::Dict(dict) => {
            let items: Vec<String> = dict
                .iter()
                .map(|(k, v)| format!("{}: {}", canon(&val(k)), canon(&val(v))))
                .collect();
            format!("{{{}}}", join(&items))
        }
        _ => value.to_string(),
    }
}

/// Whether the python3 on PATH hashes None to a constant (CPython 3.12 and later).
static NONE_FIXED: std::sync::LazyLock<bool> = std::sync::LazyLock::new(|| {
    let out = Command::new("python3")
        .args(["-c", "print(hash(None) == 0xFCA86420)"])
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout).trim() == "True"
});

fn sorted_chars(s: &str) -> Vec<char> {
    let mut chars: Vec<char> = s.chars().collect();
    chars.sort_unstable();
    chars
}

struct Mismatch {
    source: String,
    protocol: String,
    hex: String,
    expected: String,
    got: String,
}

#[test]
fn decodes_every_cpython_pickle_to_its_repr() {
    check_cases("repr", 15_000);
}

/// Hand-written dicts and sets whose keys are equal in Python or unhashable: merged as
/// CPython merges them (the first key, the last value), sets in CPython's order, and
/// refused (`Error::Unhashable`) where `pickle.loads` raises TypeError.
#[test]
fn merges_keys_and_refuses_unhashable_ones_as_cpython() {
    check_cases("keys", 2_500);
}

/// Decodes every case `gen_cases.py <what>` prints and compares with CPython's result.
fn check_cases(what: &str, at_least: usize) {
    let cases = python_cases(what);
    let mut decoder: Decoder = Decoder::new();
    let mut mismatches: Vec<Mismatch> = Vec::new();
    // (source, protocol) -> (cases, mismatches)
    let mut tally: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    let mut total = 0;

    for line in cases.lines() {
        let mut fields = line.splitn(5, ' ');
        let (source, protocol, mode, hex, expected) = (
            fields.next().expect("source"),
            fields.next().expect("protocol"),
            fields.next().expect("mode"),
            fields.next().expect("hex"),
            fields.next().expect("expected repr"),
        );
        let mut bytes = unhex(hex);
        if source == "edge" {
            // Bytes after STOP are not part of the pickle.
            bytes.extend_from_slice(b"\x80garbage after STOP");
        }
        total += 1;
        let got: Result<(), String> = match decoder.decode(&bytes) {
            Err(Error::Unhashable { type_name, .. })
                if mode == "error"
                    && expected == format!("TypeError: unhashable type: '{type_name}'") =>
            {
                Ok(())
            }
            Err(e) => Err(format!("error: {e} ({e:?})")),
            Ok(value) if mode == "error" => Err(value.to_string()),
            Ok(value) => {
                let shown = value.to_string();
                match mode {
                    "exact" if shown == expected => Ok(()),
                    "exact" => Err(shown),
                    "canon" => {
                        let canonical = canon(&value);
                        if canonical != expected {
                            Err(format!("canonical {canonical} (Display {shown})"))
                        } else if sorted_chars(&shown) != sorted_chars(expected) {
                            Err(format!(
                                "Display {shown} is not a reordering of the expected elements"
                            ))
                        } else {
                            Ok(())
                        }
                    }
                    other => panic!("unknown mode {other:?}"),
                }
            }
        };
        let entry = tally
            .entry((source.to_string(), protocol.to_string()))
            .or_default();
        entry.0 += 1;
        if let Err(got) = got {
            entry.1 += 1;
            mismatches.push(Mismatch {
                source: source.into(),
                protocol: protocol.into(),
                hex: hex.into(),
                expected: expected.into(),
                got,
            });
        }
    }

    assert!(total > at_least, "only {total} cases generated");
    if mismatches.is_empty() {
        return;
    }
    let mut report = String::new();
    writeln!(
        report,
        "{} of {total} CPython pickles decoded differently:",
        mismatches.len()
    )
    .unwrap();
    for ((source, protocol), (n, bad)) in &tally {
        if *bad > 0 {
            writeln!(report, "  {source:>4} protocol {protocol}: {bad} of {n}").unwrap();
        }
    }
    // The first few mismatches of distinct objects (one object fails in many protocols).
    let mut shown = std::collections::BTreeSet::new();
    let firsts = mismatches
        .iter()
        .filter(|m| shown.insert(m.expected.as_str()))
        .take(6);
    for m in firsts {
        writeln!(
            report,
            "\n--- {} protocol {} ({} bytes)\npickle:   {}\nexpected: {}\ngot:      {}\n{}",
            m.source,
            m.protocol,
            m.hex.len() / 2,
            m.hex,
            m.expected,
            m.got,
            pickletools_dis(&m.hex)
        )
        .unwrap();
    }
    panic!("{report}");
}

// ---------------------------------------------------------------------------------------------
// serde: from_slice on CPython's pickles

#[derive(Debug, PartialEq, Deserialize)]
struct Identity<'a> {
    name: &'a str,
    email: &'a str,
    student_id: u32,
    github_username: &'a str,
}

/// Protocol 0 writes text escaped (raw-unicode-escape), so it can't always be borrowed:
/// fixed-capacity owned strings take any protocol.
#[derive(Debug, PartialEq, Deserialize)]
struct IdentityOwned {
    name: heapless::String<64>,
    email: heapless::String<64>,
    student_id: u32,
    github_username: heapless::String<64>,
}

#[derive(Debug, PartialEq, Deserialize)]
struct Optional {
    x: Option<u32>,
    y: Option<u32>,
}

#[derive(Debug, PartialEq, Deserialize)]
struct Blob<'a> {
    #[serde(with = "serde_bytes")]
    data: &'a [u8],
}

/// `name protocol hex` lines -> pickle bytes by (name, protocol).
fn serde_cases() -> BTreeMap<(String, u8), Vec<u8>> {
    python_cases("serde")
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            assert_eq!(f.len(), 3, "bad line {line:?}");
            ((f[0].to_string(), f[1].parse().unwrap()), unhex(f[2]))
        })
        .collect()
}

fn owned(s: &str) -> heapless::String<64> {
    s.try_into().unwrap()
}

#[test]
fn from_slice_reads_cpython_pickles() {
    let cases = serde_cases();
    let case = |name: &str, protocol: u8| -> &[u8] {
        cases
            .get(&(name.to_string(), protocol))
            .unwrap_or_else(|| panic!("no case {name} protocol {protocol}"))
    };

    let ascii = Identity {
        name: "Jose Ortiz",
        email: "jose@sfsu.edu",
        student_id: 917_654_321,
        github_username: "jortiz",
    };
    let utf8 = Identity {
        name: "José Ortiz 😀",
        github_username: "j\"ortiz'",
        ..ascii
    };
    let own = |i: &Identity| IdentityOwned {
        name: owned(i.name),
        email: owned(i.email),
        student_id: i.student_id,
        github_username: owned(i.github_username),
    };

    for p in 0..=5u8 {
        // Borrowed &str: protocols 2-5 carry str as raw UTF-8 (BINUNICODE, SHORT_BINUNICODE, ...).
        if p >= 2 {
            assert_eq!(
                pickle::from_slice::<Identity>(case("identity", p)),
                Ok(Identity { ..ascii }),
                "identity protocol {p}"
            );
            assert_eq!(
                pickle::from_slice::<Identity>(case("identity_utf8", p)),
                Ok(Identity { ..utf8 }),
                "identity_utf8 protocol {p}"
            );
        }
        assert_eq!(
            pickle::from_slice::<IdentityOwned>(case("identity", p)),
            Ok(own(&ascii)),
            "identity protocol {p}, owned"
        );
        assert_eq!(
            pickle::from_slice::<IdentityOwned>(case("identity_utf8", p)),
            Ok(own(&utf8)),
            "identity_utf8 protocol {p}, owned"
        );

        assert_eq!(
            pickle::from_slice::<Optional>(case("option_none", p)),
            Ok(Optional {
                x: None,
                y: Some(5)
            }),
            "Option protocol {p}"
        );

        // Integers: in range or an error, never wrapped.
        assert_eq!(pickle::from_slice::<u8>(case("u8_255", p)), Ok(255));
        assert!(
            pickle::from_slice::<u8>(case("u8_300", p)).is_err(),
            "u8 from 300, protocol {p}"
        );
        assert_eq!(pickle::from_slice::<i8>(case("i8_-128", p)), Ok(-128));
        assert!(
            pickle::from_slice::<i8>(case("i8_-129", p)).is_err(),
            "i8 from -129, protocol {p}"
        );
        assert!(
            pickle::from_slice::<u32>(case("neg1", p)).is_err(),
            "u32 from -1, protocol {p}"
        );
        assert_eq!(pickle::from_slice::<i32>(case("neg1", p)), Ok(-1));
        assert_eq!(
            pickle::from_slice::<u64>(case("u64_max", p)),
            Ok(u64::MAX),
            "protocol {p}"
        );
        assert!(
            pickle::from_slice::<i64>(case("u64_max", p)).is_err(),
            "i64 from 2**64-1, protocol {p}"
        );
        assert!(
            pickle::from_slice::<i64>(case("i64_overflow", p)).is_err(),
            "i64 from 2**63, protocol {p}"
        );
        assert_eq!(
            pickle::from_slice::<i64>(case("i64_min", p)),
            Ok(i64::MIN),
            "protocol {p}"
        );

        assert_eq!(pickle::from_slice::<f64>(case("float", p)), Ok(0.5));

        // Sequences from list, tuple and set.
        assert_eq!(
            pickle::from_slice::<Vec<i64>>(case("list_ints", p)),
            Ok(vec![1, 2, 3])
        );
        assert_eq!(
            pickle::from_slice::<Vec<i64>>(case("tuple_ints", p)),
            Ok(vec![1, 2, 3])
        );
        assert_eq!(
            pickle::from_slice::<(u8, u8, u8)>(case("tuple_ints", p)),
            Ok((1, 2, 3))
        );
        let mut set = pickle::from_slice::<Vec<i64>>(case("set_ints", p)).expect("set");
        set.sort_unstable();
        assert_eq!(set, [1, 2, 3], "set protocol {p}");

        // Wrong types are errors.
        assert!(pickle::from_slice::<Identity>(case("list_ints", p)).is_err());
        assert!(pickle::from_slice::<u32>(case("float", p)).is_err());
    }

    // bytes borrow from the pickle where CPython writes them raw (protocol 3 on; protocols 0-2
    // write bytes as `_codecs.encode(str, 'latin1')`, text that is not the bytes themselves).
    for p in 3..=5u8 {
        assert_eq!(
            pickle::from_slice::<Blob>(case("bytes", p)),
            Ok(Blob {
                data: b"\x00\x01binary\xff"
            }),
            "bytes protocol {p}"
        );
    }

    // A Python 2 server's dict: keys and values are byte strings (STRING, SHORT_BINSTRING).
    for p in 0..=2u8 {
        assert_eq!(
            pickle::from_slice::<IdentityOwned>(case("identity_py2", p)),
            Ok(own(&ascii)),
            "Python 2 identity protocol {p}"
        );
    }
    for p in 1..=2u8 {
        // SHORT_BINSTRING holds the ASCII bytes themselves: borrowed.
        assert_eq!(
            pickle::from_slice::<Identity>(case("identity_py2", p)),
            Ok(Identity { ..ascii }),
            "Python 2 identity protocol {p}, borrowed"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// refusal of every opcode that imports, calls or builds objects

/// The malicious-pickle corpus (`gen_cases.py refused`): os.system through GLOBAL+REDUCE
/// (hand-written and CPython's own `__reduce__` output, protocols 0-5), STACK_GLOBAL, INST
/// (even of an allowed name), OBJ, NEWOBJ, NEWOBJ_EX, EXT1/2/4, PERSID, BINPERSID, BUILD,
/// out-of-band buffers, user class instances, `__import__`, `exec`, `subprocess.Popen`: each
/// refused as `Error::Refused` naming the opcode, the global where there is one, and the offset.
#[test]
fn refuses_code_running_pickles_naming_opcode_global_and_offset() {
    let cases = python_cases("refused");
    let mut seen = 0;
    for line in cases.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f.len(), 5, "bad line {line:?}");
        let (name, opcode_name, offset, global, hex) =
            (f[0], f[1], f[2].parse::<usize>().unwrap(), f[3], f[4]);
        let bytes = unhex(hex);
        let mut decoder: Decoder = Decoder::new();
        let err = match decoder.decode(&bytes) {
            Ok(v) => panic!("{name}: decoded to {v} instead of being refused"),
            Err(e) => e,
        };
        match &err {
            Error::Refused {
                opcode,
                offset: at,
                global: g,
            } => {
                assert_eq!(opcode.name(), opcode_name, "{name}: {err}");
                assert_eq!(*at, offset, "{name}: {err}");
                match g {
                    Some(g) => assert_eq!(g.to_string(), global, "{name}: {err}"),
                    None => assert_eq!("-", global, "{name}: {err}"),
                }
            }
            other => panic!("{name}: expected Error::Refused, got {other:?} ({other})"),
        }
        let msg = err.to_string();
        assert!(msg.contains(opcode_name), "{name}: {msg:?} names no opcode");
        assert!(
            msg.contains(&offset.to_string()),
            "{name}: {msg:?} has no offset"
        );
        if global != "-" {
            assert!(msg.contains(global), "{name}: {msg:?} names no global");
        }
        // serde refuses it too, whatever the target type.
        assert!(
            matches!(
                pickle::from_slice::<serde::de::IgnoredAny>(&bytes),
                Err(Error::Refused { .. })
            ),
            "{name}: from_slice did not refuse"
        );
        seen += 1;
    }
    assert!(seen >= 30, "only {seen} refusal cases");
}
