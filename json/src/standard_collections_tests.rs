use brine_core::pickle::{to_vec_with_memo, HeapDecoder, Protocol};

use crate::oracle::python;
use crate::parse;

/// The oracle: `pickle.dumps(json.loads(line, object_hook=forms), p)` for p in 2–5 and the
/// value's repr, one line per JSON line on stdin.
const ORACLE: &str = r#"
import builtins, collections as C, datetime, decimal, json, pickle, sys, uuid
def items(x):
    return x.items() if isinstance(x, dict) else [tuple(p) for p in x]
def forms(d):
    if '$ordereddict' in d: return C.OrderedDict(items(d['$ordereddict']))
    if '$counter' in d: return C.Counter(dict(items(d['$counter'])))
    if '$deque' in d: return C.deque(d['$deque'], d.get('maxlen'))
    if '$defaultdict' in d:
        f = d['$defaultdict']
        return C.defaultdict(f and getattr(builtins, f), items(d.get('items', {})))
    if '$complex' in d: return complex(d['$complex']['real'], d['$complex']['imag'])
    if '$range' in d:
        r = d['$range']
        return range(r.get('start', 0), r['stop'], r.get('step', 1))
    if len(d) == 1:
        (k, v), = d.items()
        if k == '$decimal': return decimal.Decimal(v)
        if k == '$date': return datetime.date.fromisoformat(v)
    return d
for line in sys.stdin:
    v = json.loads(line, object_hook=forms)
    print(repr(v).encode().hex(), *[pickle.dumps(v, p).hex() for p in (2, 3, 4, 5)])
"#;

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Issue 22 point 4: each collection form pickles as `pickle.dumps` pickles the value the
/// hook builds, byte for byte in protocols 2–5 (entries as an object or as pairs, equal keys
/// merged as Python merges them, every batch boundary, nesting with the other standard
/// types), brine's decoder prints those bytes as CPython's repr, and protocols 0 and 1 are
/// refused.
#[test]
fn collections_pickle_as_cpython_does() {
    let mut lines: Vec<String> = [
        r#"{"$ordereddict": {"a": 1, "b": [2]}}"#,
        r#"{"$ordereddict": [[1, "x"], [1.0, "y"], [true, "z"], [null, 0], [2.5, 1], ["k", {"$deque": [1]}], [false, 7], [-0.0, 8]]}"#,
        r#"{"$ordereddict": [[NaN, 1], [NaN, 2], [Infinity, 3], [-Infinity, 4], [9007199254740993, 5], [9007199254740992.0, 6], [9007199254740992, 7]]}"#,
        r#"{"$ordereddict": [[1e300, "a"], [1000000000000000052504760255204420248704468581108159154915854115111802457988908195786371375080447864043704443832883878176942523235360430575644792184786706982848387200926575803737830233794788090059368953234970799945081119038967640880074652742780142494579258788820056842838115467196834763571968, "b"], [-7, 1], [-7.0, 2]]}"#,
        r#"[{"$ordereddict": []}, {"$counter": {}}, {"$deque": []}, {"$defaultdict": null}, {"$ordereddict": {}}, {"$deque": [], "maxlen": 0}]"#,
        r#"{"$counter": {"a": 2, "b": 1, "c": -3}}"#,
        r#"{"$counter": [[1, 5], [-2, 0], [1.0, 6], [99999999999999999999999, 1]]}"#,
        r#"{"$deque": [1, "a", [2]], "maxlen": 3}"#,
        r#"{"maxlen": null, "$deque": [1]}"#,
        r#"{"$defaultdict": "list", "items": {"a": [1]}}"#,
        r#"[{"$defaultdict": "list"}, {"$defaultdict": "dict"}, {"$defaultdict": "int"}, {"$defaultdict": "str"}, {"$defaultdict": "float"}, {"$defaultdict": "bool"}, {"$defaultdict": "tuple"}, {"$defaultdict": "list", "items": {}}, {"$defaultdict": "int"}]"#,
        r#"{"$defaultdict": "int", "items": [[1, 2], [0, 3], [false, 4]]}"#,
        r#"{"items": {"x": {"$counter": {"y": 1}}}, "$defaultdict": "dict"}"#,
        r#"{"$ordereddict": {"when": {"$date": "2026-12-06"}, "q": {"$deque": [{"$decimal": "1.5"}, {"$ordereddict": [[2, {"$defaultdict": null, "items": {"z": null}}]]}], "maxlen": 9}}}"#,
        r#"{"plain": {"$deque": []}, "list": [{"$counter": [["s", 1]]}, {"$ordereddict": {"plain": 2}}]}"#,
        // The `builtins` module name is one str for a factory, complex and range.
        r#"[{"$complex": {"real": 1.0, "imag": 2.0}}, {"$defaultdict": "int"}, {"$range": {"start": 0, "stop": 3}}, {"$defaultdict": "list"}, {"$defaultdict": "int"}]"#,
        r#"[{"$defaultdict": "str"}, {"$complex": {"real": 1.0, "imag": 2.0}}]"#,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for n in [999, 1000, 1001, 2000, 2001] {
        let ints: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        let pairs: Vec<String> = (0..n).map(|i| format!("[{i}, {}]", -i)).collect();
        lines.push(format!(
            r#"{{"$deque": [{}], "maxlen": {n}}}"#,
            ints.join(", ")
        ));
        lines.push(format!(r#"{{"$ordereddict": [{}]}}"#, pairs.join(", ")));
        lines.push(format!(r#"{{"$counter": [{}]}}"#, pairs.join(", ")));
        lines.push(format!(
            r#"{{"$defaultdict": "float", "items": [{}]}}"#,
            pairs.join(", ")
        ));
    }
    let out = python(ORACLE, (lines.join("\n") + "\n").as_bytes());
    assert_eq!(out.lines().count(), lines.len());
    let mut decoder = HeapDecoder::new();
    for (json, line) in lines.iter().zip(out.lines()) {
        let value = parse(json).unwrap();
        let mut want = line.split(' ');
        let repr = String::from_utf8(unhex(want.next().unwrap())).unwrap();
        for (proto, want) in [Protocol::V2, Protocol::V3, Protocol::V4, Protocol::V5]
            .into_iter()
            .zip(want)
        {
            let got = to_vec_with_memo::<4096, _>(&value, proto).unwrap();
            assert_eq!(hex(&got), want, "{json:.300} in {proto:?}");
            let shown = decoder.decode(&got).map(|v| v.to_string());
            assert_eq!(shown.as_deref(), Ok(repr.as_str()), "{json:.300}");
        }
        let e = to_vec_with_memo::<4096, _>(&value, Protocol::V1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("protocol 0 or 1"), "{e}");
    }
}

/// A form with what it does not take is an error naming the form and what it takes.
#[test]
fn bad_forms_say_what_they_take() {
    for (bad, says) in [
        (
            r#"{"$ordereddict": 1}"#,
            "takes an object or [key, value] pairs",
        ),
        (
            r#"{"$ordereddict": [[1]]}"#,
            "each entry is a [key, value] pair",
        ),
        (
            r#"{"$ordereddict": [1, 2]}"#,
            "each entry is a [key, value] pair",
        ),
        (
            r#"{"$ordereddict": [[[1], 2]]}"#,
            "a key is a str, int, float",
        ),
        (
            r#"{"$counter": [[{"a": 1}, 2]]}"#,
            "cannot hash a list or dict",
        ),
        (
            r#"{"$ordereddict": [[{"$decimal": "1"}, 2]]}"#,
            "a key is a str",
        ),
        (
            r#"{"$ordereddict": {}, "x": 1}"#,
            "takes no other key, not \"x\"",
        ),
        (r#"{"$counter": {}, "$deque": []}"#, "not \"$deque\""),
        (r#"{"$counter": {"a": "b"}}"#, "every count is an int"),
        (r#"{"$counter": {"a": 1.5}}"#, "every count is an int"),
        (r#"{"$deque": {}}"#, "takes an array of the items"),
        (
            r#"{"$deque": [1, 2], "maxlen": 1}"#,
            "2 items, more than its maxlen 1",
        ),
        (
            r#"{"$deque": [], "maxlen": -1}"#,
            "non-negative int or null",
        ),
        (
            r#"{"$deque": [], "maxlen": 1.5}"#,
            "non-negative int or null",
        ),
        (r#"{"$deque": [], "maxln": 1}"#, "only \"maxlen\" beside it"),
        (r#"{"$defaultdict": "set"}"#, "takes the factory's name"),
        (r#"{"$defaultdict": 1}"#, "takes the factory's name"),
        (
            r#"{"$defaultdict": "list", "items": 3}"#,
            "\"items\": ...} takes an object",
        ),
        (
            r#"[{"$deque": [], "maxlen": 1e2}]"#,
            "non-negative int or null at byte",
        ),
    ] {
        match parse(bad) {
            Err(e) => assert!(e.contains(says), "{bad}: {e}"),
            Ok(v) => panic!("{bad}: {v:?}"),
        }
    }
}
