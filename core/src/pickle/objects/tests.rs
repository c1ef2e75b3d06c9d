//! Objects against CPython: the standard types' reprs in every protocol, stubs' text forms,
//! refusals.

extern crate std;

use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use super::super::oracle::{python3, unhex};
use super::super::{Decoder, Error};

/// Decodes `pickle` (stubs allowed when `stubs`) and prints it, or the error.
fn show(pickle: &[u8], stubs: bool) -> String {
    let mut d: Decoder = Decoder::new();
    d.allow_stubs(stubs);
    match d.decode(pickle) {
        Ok(v) => format!("{v}"),
        Err(e) => format!("error: {e}"),
    }
}

/// Without `float-text` a protocol-0 float (text) is refused naming the feature: the refusal
/// this build must print where CPython prints the value.
const NO_FLOAT_TEXT: &str = "protocol-0 float text is not parsed: this build leaves it out";

/// Whether `got` is right for `pickle` where CPython prints `want`: equal, or (without
/// `float-text`) a protocol-0 pickle refused for its float text.
fn agrees(pickle: &[u8], got: &str, want: &str) -> bool {
    got == want
        || (!cfg!(feature = "float-text")
            && pickle.first() != Some(&0x80)
            && got.starts_with("error: ")
            && got.contains(NO_FLOAT_TEXT))
}

/// Python that defines the standard values the tests pickle: fixed edge cases, then
/// `n` random ones from `random.Random(seed)`.
pub(crate) const STANDARD_VALUES: &str = r#"
import collections, datetime as dt, decimal, fractions, pickle, random, uuid
def standard_values(seed, n):
    r = random.Random(seed)
    utc = dt.timezone.utc
    cet = dt.timezone(dt.timedelta(hours=1), 'CET')
    fixed = [
        dt.datetime(2026, 12, 6, 14, 0, tzinfo=utc), dt.datetime(2026, 12, 6, 14, 0),
        dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=cet),
        dt.datetime(2026, 11, 1, 1, 30, fold=1), dt.datetime(2024, 2, 29, 0, 0, 7),
        dt.date(2026, 12, 6), dt.date(1, 1, 1), dt.time(), dt.time(1, 2, 3, 4, tzinfo=cet),
        dt.time(23, 59, 0, fold=1), dt.time(1, 2, tzinfo=cet, fold=1), dt.timedelta(),
        dt.timedelta(1, 2, 3),
        dt.timedelta(-1), dt.timedelta(microseconds=-1), dt.timedelta(999999999),
        utc, cet, dt.timezone(dt.timedelta(hours=-5)), dt.timezone(dt.timedelta(0), 'Z'),
        dt.timezone(-dt.timedelta(hours=23, minutes=59)),
        decimal.Decimal('1.5'), decimal.Decimal('-0'), decimal.Decimal('NaN'),
        decimal.Decimal('-sNaN12'), decimal.Decimal('Infinity'), decimal.Decimal('1E+5'),
        decimal.Decimal('0.000001'), decimal.Decimal('1E-7'), decimal.Decimal('0E-8'),
        decimal.Decimal('123.4560'), decimal.Decimal('-1.2E+40'),
        1 + 2j, 3j, -0.0 + 1j, complex(0, -0.0), complex(-0.0, 0), complex(1e300, -1e-300),
        complex(float('inf'), float('nan')), complex(0.5, float('-inf')),
        fractions.Fraction(1, 3), fractions.Fraction(-7, 2), fractions.Fraction(5),
        fractions.Fraction(0), uuid.UUID(int=0), uuid.UUID(int=2**128 - 1),
        uuid.UUID('12345678-1234-5678-1234-567812345678'),
        collections.OrderedDict(), collections.OrderedDict(a=1, b=[2]),
        collections.Counter(), collections.Counter('abracadabra'),
        collections.Counter({'x': -1, 'y': 0, 'z': 5}),
        collections.deque(), collections.deque([1, 'a'], 3), collections.deque(maxlen=0),
        collections.defaultdict(list, {'a': [1]}), collections.defaultdict(None),
        collections.defaultdict(int, {1: 2}), collections.defaultdict(dict),
        range(3), range(1, 5, 2), range(-3, -30, -7), slice(1, 2, None), slice(None),
        slice('a', [1], (2,)),
        {'when': dt.datetime(2026, 12, 6, 14, 0, tzinfo=utc), 'price': decimal.Decimal('9.99')},
        [dt.date(2026, 1, 1)] * 3,
    ]
    yield from fixed
    for _ in range(n):
        k = r.randrange(9)
        if k == 0:
            tz = r.choice([None, utc, dt.timezone(dt.timedelta(minutes=r.randrange(-1439, 1440)))])
            yield dt.datetime(r.randrange(1, 10000), r.randrange(1, 13), r.randrange(1, 29),
                              r.randrange(24), r.randrange(60), r.randrange(60),
                              r.choice([0, r.randrange(10**6)]), tzinfo=tz, fold=r.randrange(2))
        elif k == 1:
            yield dt.timedelta(microseconds=r.randrange(-10**17, 10**17))
        elif k == 2:
            yield decimal.Decimal(r.randrange(-10**r.randrange(1, 30), 10**20)).scaleb(r.randrange(-40, 40))
        elif k == 3:
            yield complex(r.choice([0.0, -0.0, r.uniform(-1e6, 1e6), r.random() * 10**r.randrange(-300, 300)]),
                          r.choice([0.0, -0.0, r.uniform(-1e6, 1e6), 1e16, 0.1]))
        elif k == 4:
            yield fractions.Fraction(r.randrange(-10**9, 10**9), r.randrange(1, 10**9))
        elif k == 5:
            yield uuid.UUID(int=r.getrandbits(128))
        elif k == 6:
            yield collections.Counter(''.join(r.choice('abcde') for _ in range(r.randrange(12))))
        elif k == 7:
            yield dt.time(r.randrange(24), r.randrange(60), r.randrange(60), r.randrange(10**6))
        else:
            yield range(r.randrange(-9, 9), r.randrange(-99, 99), r.choice([1, -1, 3, -4]))
"#;

/// Every standard value of [`STANDARD_VALUES`] in every protocol prints as CPython 3.11's
/// repr (the machine's python3; 3.12 changed OrderedDict's).
#[test]
#[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
fn standard_types_print_as_cpython_in_every_protocol() {
    let out = python3(&format!(
        "{STANDARD_VALUES}
assert sys.version_info[:2] == (3, 11), 'the repr oracle is CPython 3.11'
for v in standard_values(11, 400):
    for p in range(6):
        pk = pickle.dumps(v, p)
        print(pk.hex(), repr(pickle.loads(pk)).encode().hex())"
    ));
    let mut n = 0;
    let mut bad = Vec::new();
    for line in out.lines() {
        let (pickle, want) = line.split_once(' ').unwrap();
        let want = String::from_utf8(unhex(want)).unwrap();
        let pickle = unhex(pickle);
        let got = show(&pickle, false);
        if !agrees(&pickle, &got, &want) {
            bad.push(format!("{got}\n  want {want}\n  {line}"));
        }
        n += 1;
    }
    assert!(
        bad.is_empty(),
        "{} of {n}:\n{}",
        bad.len(),
        bad[..bad.len().min(20)].join("\n")
    );
    assert!(n > 2400, "{n}");
}

/// Objects of classes brine does not know, as CPython writes them: refused by default,
/// inert stubs when allowed, in every protocol.
#[test]
#[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
fn unknown_classes_are_stubs_only_when_allowed() {
    let out = python3(
        r#"
import collections, dataclasses, pickle, sys, types
menu = types.ModuleType('menu')
sys.modules['menu'] = menu
class Menu:
    def __init__(self): self.client = None
class Slots:
    __slots__ = ('a', 'b')
    def __init__(self): self.a = 1; self.b = 'x'
class Both:
    __slots__ = ('a', '__dict__')
    def __init__(self): self.a = 1; self.z = 2
@dataclasses.dataclass
class Item:
    name: str
    price: float
Point = collections.namedtuple('Point', 'x y')
selfish = Menu()
selfish.me = selfish
class Plain: pass
for c in (Menu, Slots, Both, Item, Point, Plain):
    c.__module__ = 'menu'
    setattr(menu, c.__name__, c)
cases = [
    ({'message': 'menu', 'menu': Menu()}, "{'message': 'menu', 'menu': <menu.Menu object {'client': None}>}"),
    (Slots(), "<menu.Slots object {'a': 1, 'b': 'x'}>"),
    (Both(), "<menu.Both object {'z': 2, 'a': 1}>"),
    (Item('tea', 2.5), "<menu.Item object {'name': 'tea', 'price': 2.5}>"),
    (Point(1, 2), None),
    (Plain(), "<menu.Plain object>"),
    ([Menu(), Menu()], "[<menu.Menu object {'client': None}>, <menu.Menu object {'client': None}>]"),
    (Menu, "<menu.Menu>"),
    (selfish, "<menu.Menu object {'client': None, 'me': <...>}>"),
]
for v, want in cases:
    for p in range(6):
        try:
            pk = pickle.dumps(v, p)
        except TypeError:
            assert p < 2  # __slots__ without __getstate__: protocols 2 and later only
            continue
        w = want or "<menu.Point object (1, 2)>"
        print(pk.hex(), w.encode().hex())
"#,
    );
    let mut n = 0;
    for line in out.lines() {
        let (pickle, want) = line.split_once(' ').unwrap();
        let want = String::from_utf8(unhex(want)).unwrap();
        let pickle = unhex(pickle);
        let shown = show(&pickle, true);
        assert!(
            agrees(&pickle, &shown, &want),
            "{shown}\n  want {want}\n  {line}"
        );
        let refused = show(&pickle, false);
        assert!(
            refused.starts_with("error: refused ") && refused.contains(" of menu."),
            "{refused}"
        );
        n += 1;
    }
    assert_eq!(n, 50);
}

/// The shapes of code-running pickles: with stubs allowed, each is shown as a stub of what
/// it names (nothing is called); refused otherwise.
#[test]
fn code_running_pickles_are_stubs_or_refused() {
    let cases: &[(&[u8], &str)] = &[
        (b"cposix\nsystem\n(S'echo hi'\ntR.", "<posix.system('echo hi')>"),
        (
            b"\x80\x04\x95\x1d\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\x07echo hi\x94\x85\x94R\x94.",
            "<posix.system('echo hi')>",
        ),
        (
            b"cbuiltins\neval\n(Vprint(1)\ntR.",
            "<builtins.eval('print(1)')>",
        ),
        (
            b"\x80\x02csubprocess\nPopen\n]q\x00X\x02\x00\x00\x00lsq\x01a\x85R.",
            "<subprocess.Popen(['ls'])>",
        ),
        (b"(S'x'\nios\nsystem\n.", "<os.system('x')>"),
        (b"(cos\nsystem\nS'x'\no.", "<os.system('x')>"),
        (
            b"\x80\x04\x8c\x02os\x8c\x06system\x93)}\x92.",
            "<os.system object>",
        ),
    ];
    for (pickle, want) in cases {
        assert_eq!(show(pickle, true), *want, "{pickle:?}");
        assert!(
            show(pickle, false).starts_with("error: refused "),
            "{pickle:?}"
        );
    }
}

/// Other argument shapes for the standard types' names are refused, also with stubs
/// allowed: nothing is shown that CPython would not have built.
#[test]
fn other_shapes_of_standard_names_are_refused() {
    let cases: &[&[u8]] = &[
        // datetime.date of 3 bytes, of month 13, of a str.
        b"\x80\x03cdatetime\ndate\nC\x03\x07\xea\x0c\x85R.",
        b"\x80\x03cdatetime\ndate\nC\x04\x07\xea\x0d\x06\x85R.",
        b"\x80\x03cdatetime\ndate\nX\x04\x00\x00\x00abcd\x85R.",
        // Decimal of a non-canonical text; of an int.
        b"\x80\x03cdecimal\nDecimal\nX\x03\x00\x00\x00inf\x85R.",
        b"\x80\x03cdecimal\nDecimal\nX\x03\x00\x00\x0001.\x85R.",
        b"\x80\x03cdecimal\nDecimal\nK\x01\x85R.",
        // complex of ints; Fraction not in lowest terms; range step 0.
        b"\x80\x03cbuiltins\ncomplex\nK\x01K\x02\x86R.",
        b"\x80\x03cfractions\nFraction\nK\x02K\x04\x86R.",
        b"\x80\x03cbuiltins\nrange\nK\x01K\x02K\x00\x87R.",
        // A deque over its maxlen; a defaultdict of a non-builtin factory.
        b"\x80\x03ccollections\ndeque\n)K\x01\x86RK\x01aK\x02a.",
        b"\x80\x03ccollections\ndefaultdict\ncos\nsystem\n\x85R.",
        // UUID state with another key; BUILD on an OrderedDict; NEWOBJ of a datetime.
        b"\x80\x03cuuid\nUUID\n)\x81}X\x01\x00\x00\x00xK\x01sb.",
        b"\x80\x03ccollections\nOrderedDict\n)R}b.",
        b"\x80\x03cdatetime\ndatetime\n)\x81.",
        // A standard type's class as data (no stubs).
        b"\x80\x03cdatetime\ndate\n.",
        b"\x80\x03cbuiltins\nlist\n\x85.",
    ];
    for pickle in cases {
        let got = show(pickle, false);
        assert!(got.starts_with("error: "), "{pickle:?}: {got}");
    }
    for pickle in &cases[..cases.len() - 2] {
        let got = show(pickle, true);
        assert!(got.starts_with("error: "), "{pickle:?}: {got}");
    }
}

/// Stubs count against the same capacities as containers: six items each.
#[test]
fn stubs_are_bounded_by_the_decoder_capacities() {
    let mut tiny: Decoder<8, 8, 8, 8> = Decoder::new();
    tiny.allow_stubs(true);
    let p = b"\x80\x04\x8c\x01m\x8c\x01C\x93)\x81.";
    assert_eq!(tiny.decode(p).unwrap().to_string(), "<m.C object>");
    // Two objects need twelve items: more than eight.
    let p2 = b"\x80\x04\x8c\x01m\x8c\x01C\x93\x94)\x81h\x00)\x81\x86.";
    assert!(matches!(tiny.decode(p2), Err(Error::Capacity { .. })));
    // A name that is not a dotted identifier is refused even with stubs.
    assert!(show(b"cos\x1b[2J\nsystem\n)R.", true).starts_with("error: refused"));
    assert!(show(b"cos\nsys tem\n)R.", true).starts_with("error: refused"));
}

/// Stubs into serde types: a struct reads the state's fields (plain class, dataclass,
/// `__slots__`), a tuple struct or tuple the `__new__` arguments (namedtuple), nested.
#[test]
#[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
fn stubs_deserialize_into_structs() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Menu {
        client: Option<u32>,
    }
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Message {
        message: String,
        menu: Menu,
    }
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Item {
        name: String,
        price: f64,
    }
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Point(i64, i64);
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Slots {
        a: i64,
        b: String,
    }
    let out = python3(
        r#"
import collections, dataclasses, pickle, sys, types
menu = types.ModuleType('menu')
sys.modules['menu'] = menu
class Menu:
    def __init__(self): self.client = None
@dataclasses.dataclass
class Item:
    name: str
    price: float
Point = collections.namedtuple('Point', 'x y')
class Slots:
    __slots__ = ('a', 'b')
    def __init__(self): self.a = 1; self.b = 'x'
for c in (Menu, Item, Point, Slots):
    c.__module__ = 'menu'
    setattr(menu, c.__name__, c)
for p in range(6):
    print(p, pickle.dumps({'message': 'menu', 'menu': Menu()}, p).hex(),
          pickle.dumps(Item('tea', 2.5), p).hex(), pickle.dumps([Point(1, 2)], p).hex(),
          pickle.dumps(Slots(), max(p, 2)).hex())
"#,
    );
    let mut lines = 0;
    for line in out.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let (menu, item, points, slots) = (unhex(f[1]), unhex(f[2]), unhex(f[3]), unhex(f[4]));
        let mut d: Decoder = Decoder::new();
        d.allow_stubs(true);
        let want = Message {
            message: "menu".to_string(),
            menu: Menu { client: None },
        };
        assert_eq!(
            d.decode(&menu).unwrap().deserialize::<Message>().unwrap(),
            want,
            "{line}"
        );
        match d.decode(&item) {
            Err(Error::InvalidArgument { reason, .. })
                if !cfg!(feature = "float-text") && f[0] == "0" =>
            {
                assert!(reason.starts_with(NO_FLOAT_TEXT), "{reason}")
            }
            decoded => assert_eq!(
                decoded.unwrap().deserialize::<Item>().unwrap(),
                Item {
                    name: "tea".to_string(),
                    price: 2.5
                },
                "{line}"
            ),
        }
        let points: Vec<Point> = d.decode(&points).unwrap().deserialize().unwrap();
        assert_eq!(points, [Point(1, 2)], "{line}");
        let slots: Slots = d.decode(&slots).unwrap().deserialize().unwrap();
        assert_eq!(
            slots,
            Slots {
                a: 1,
                b: "x".to_string()
            },
            "{line}"
        );
        lines += 1;
    }
    assert_eq!(lines, 6);
    // Without stubs allowed, the same pickle is refused, whatever the target.
    let mut d: Decoder = Decoder::new();
    let p = unhex(out.lines().next().unwrap().split(' ').nth(1).unwrap());
    assert!(d.decode(&p).is_err());
    assert!(super::super::from_slice::<Message>(&p).is_err());
}

/// A standard type holds no stub, though a defaultdict's factory is a reference to a
/// builtin type (found by the fuzz target decode_objects: `contains_stub` was true).
#[test]
fn a_defaultdicts_factory_is_not_a_stub() {
    // pickle.dumps(collections.defaultdict(list, {'a': [1]}), 4)
    let p = b"\x80\x04\x95\x35\x00\x00\x00\x00\x00\x00\x00\x8c\x0bcollections\x94\x8c\x0bdefaultdict\x94\x93\x94\x8c\x08builtins\x94\x8c\x04list\x94\x93\x94\x85\x94R\x94\x8c\x01a\x94]\x94K\x01as.";
    let mut d: Decoder = Decoder::new();
    let v = d.decode(p).unwrap();
    assert_eq!(v.to_string(), "defaultdict(<class 'list'>, {'a': [1]})");
    assert!(!v.contains_stub());
    d.allow_stubs(true);
    assert!(!d.decode(p).unwrap().contains_stub());
    // A builtin type as data is a stub (a reference), shown only when stubs are allowed.
    assert_eq!(
        show(b"\x80\x04\x8c\x08builtins\x8c\x04list\x93\x85.", true),
        "(<builtins.list>,)"
    );
}

/// The standard values as CPython 3.8-3.13 (pyenv) each pickle them, protocols 0-5: brine
/// prints what CPython 3.11 (the machine's python3) prints after loading each pickle.
#[test]
#[cfg_attr(miri, ignore = "runs python3, which Miri cannot spawn")]
fn standard_types_from_every_cpython_3_8_to_3_13() {
    // `pyenv root`, else ~/.pyenv (as the e2e tests' pyenv_python finds it).
    let root = std::process::Command::new("pyenv")
        .arg("root")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .or_else(|| std::env::var("HOME").ok().map(|h| format!("{h}/.pyenv")))
        .expect("pyenv root: neither `pyenv` nor $HOME (CPython 3.8-3.13 are needed)");
    let mut pickles = Vec::new();
    for minor in 8..=13 {
        let dir = std::fs::read_dir(format!("{root}/versions"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&format!("3.{minor}.")))
            })
            .unwrap_or_else(|| panic!("no CPython 3.{minor} under {root}/versions"));
        let out = std::process::Command::new(dir.join("bin/python"))
            .arg("-c")
            .arg(format!(
                "{STANDARD_VALUES}\nfor v in standard_values({minor}, 60):\n    for p in range(6):\n        print(pickle.dumps(v, p).hex())"
            ))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        pickles.extend(
            String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .map(String::from),
        );
    }
    let input = pickles.join("\n");
    let reprs = super::super::oracle::python3_with_input(
        "import pickle\nfor line in sys.stdin.read().split():\n    print(repr(pickle.loads(bytes.fromhex(line))).encode().hex())",
        input.as_bytes(),
    );
    let mut n = 0;
    for (hex, want) in pickles.iter().zip(reprs.lines()) {
        let want = String::from_utf8(unhex(want)).unwrap();
        let pickle = unhex(hex);
        let got = show(&pickle, false);
        assert!(
            agrees(&pickle, &got, &want),
            "{got}\n  want {want}\n  {hex}"
        );
        n += 1;
    }
    assert_eq!(n, pickles.len());
    assert!(n > 6 * 6 * 100, "{n}");
}
