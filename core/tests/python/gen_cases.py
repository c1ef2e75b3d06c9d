#!/usr/bin/env python3
"""Generates the cases for core/tests/decode_cpython.rs. CPython is the oracle.

Usage: gen_cases.py repr     -> one line per case: "<source> <protocol> <mode> <hex pickle> <expected>"
       gen_cases.py keys     -> the same, for hand-written pickles of dicts and sets whose keys
                                are equal in Python (1, True, 1.0; 0.0, -0.0; 'a' as each opcode
                                writes it; one NaN object twice) or unhashable; <expected> is
                                "TypeError: <message>" where pickle.loads raises TypeError
       gen_cases.py serde    -> one line per pickle: "<name> <protocol> <hex pickle>"
       gen_cases.py refused  -> one line per pickle: "<name> <opcode> <offset> <global or -> <hex pickle>"

Everything is deterministic (fixed seed), so a failure reproduces exactly.

`mode` in the repr cases is:
  exact  -- <expected> is repr(obj); brine's Display must print exactly it.
  canon  -- obj holds a set or frozenset of two or more elements of which one has a hash that
            varies per CPython process (a non-empty str or bytes, a NaN, None before 3.12; see
            fixed_hash). Python prints those in an order brine cannot know; brine keeps pickle
            order. For these, <expected> is canon(obj): repr with every such set's elements
            sorted by their own canonical text (sets of fixed hashes keep CPython's order).
            The Rust test builds the same canonical text from brine's Value (containers
            walked, every leaf printed by brine's Display) and also checks that brine's own
            Display of the whole value has exactly the characters of <expected> in some order
            (canon only reorders set elements, so its characters are repr(obj)'s). canon()
            equals repr() on everything without such sets, which this script asserts for every
            exact case, so the canonical form can't drift from Python's repr.
"""

import io
import math
import pickle
import pickletools
import random
import struct
import sys

SEED = 0xB121E
RANDOM_OBJECTS = 3000
PY2_OBJECTS = 600
# Keep every pickle well inside the decoder's default capacities (sized for 4096-byte messages).
MAX_PICKLE = 2048
MAX_NODES = 300

# ---------------------------------------------------------------------------------------------
# canonical repr (set elements sorted)


def fixed_hash(o):
    """True if hash(o) is the same in every CPython process (brine then orders sets as CPython)."""
    if o is None:
        return hash(None) == 0xFCA86420  # CPython 3.12 and later
    if isinstance(o, float):
        return not math.isnan(o)
    if isinstance(o, (bool, int)):
        return True
    if isinstance(o, (str, bytes)):
        return len(o) == 0
    if isinstance(o, (tuple, frozenset)):
        return all(fixed_hash(e) for e in o)
    return False


def canon(o, sort_all=False):
    """repr(o) with the elements of sets that hold a varying hash sorted (all sets' if sort_all)."""
    if isinstance(o, (set, frozenset)):
        items = [canon(e, sort_all) for e in o]
        if sort_all or not all(fixed_hash(e) for e in o):
            items.sort()
        if type(o) is set:
            return "{" + ", ".join(items) + "}" if items else "set()"
        return "frozenset({" + ", ".join(items) + "})" if items else "frozenset()"
    if isinstance(o, list):
        return "[" + ", ".join(canon(e, sort_all) for e in o) + "]"
    if isinstance(o, tuple):
        if len(o) == 1:
            return "(" + canon(o[0], sort_all) + ",)"
        return "(" + ", ".join(canon(e, sort_all) for e in o) + ")"
    if isinstance(o, dict):
        return "{" + ", ".join(canon(k, sort_all) + ": " + canon(v, sort_all) for k, v in o.items()) + "}"
    return repr(o)


def has_unordered_set(o, seen=None):
    """True if o contains a set/frozenset whose repr order is not canonical (two or more elements)."""
    if seen is None:
        seen = set()
    if id(o) in seen:
        return False
    seen.add(id(o))
    if isinstance(o, (set, frozenset)):
        if len(o) >= 2 and not all(fixed_hash(e) for e in o):
            return True
        return any(has_unordered_set(e, seen) for e in o)
    if isinstance(o, (list, tuple)):
        return any(has_unordered_set(e, seen) for e in o)
    if isinstance(o, dict):
        return any(has_unordered_set(k, seen) or has_unordered_set(v, seen) for k, v in o.items())
    return False


def count_nodes(o):
    if isinstance(o, (list, tuple, set, frozenset)):
        return 1 + sum(count_nodes(e) for e in o)
    if isinstance(o, dict):
        return 1 + sum(count_nodes(k) + count_nodes(v) for k, v in o.items())
    return 1


# ---------------------------------------------------------------------------------------------
# random objects

SPECIAL_FLOATS = [0.0, -0.0, 1.0, -1.5, 0.1, 0.3, 1e16, 1e-5, 1e-4, 1e15, 123456789.0, 1e22,
                  1e300, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
                  math.inf, -math.inf, math.nan, 2.0 ** 53, 2.0 ** 63, 1 / 3, -2.5e-7]

SPECIAL_INTS = [0, 1, -1, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, -2 ** 31, -2 ** 31 - 1,
                2 ** 32, 2 ** 63 - 1, 2 ** 63, -2 ** 63, -2 ** 63 - 1, 2 ** 64 - 1, 2 ** 64,
                -2 ** 64, 10 ** 19, 54321, 917654321]

CHAR_POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.",
    "'\"\\",                                                  # quotes and backslash
    "".join(chr(c) for c in range(0, 0x20)) + "\x7f",        # C0 controls and DEL
    "".join(chr(c) for c in range(0x80, 0xA1)) + "\xad",     # C1 controls, NBSP, soft hyphen
    "éèüñßçÅøÆœ¿¡©®µ",                                       # printable Latin-1 and beyond
    "αβγΔΩжЯשלוםمرحباअनहि",                                  # Greek, Cyrillic, Hebrew, Arabic, Devanagari
    "中文字日本語한국어",                                      # CJK
    "\u200b\u200e\u2028\u2029\ufeff\ufffd\uffff\u0301\u0300",  # format chars, separators, combining
    "😀🎉🐍𝄞𐍈🂡\U0001F9D1\U000E0001\U0010FFFF\U0001D400",     # astral (printable and not)
]


def rand_char(rng):
    if rng.random() < 0.03:  # any scalar value, no surrogates
        while True:
            c = rng.randrange(0x110000)
            if not 0xD800 <= c <= 0xDFFF:
                return chr(c)
    pool = CHAR_POOLS[0] if rng.random() < 0.55 else rng.choice(CHAR_POOLS)
    return rng.choice(pool)


def rand_str(rng, ascii_only=False):
    n = rng.choice([0, 1, 1, 2, 3, 5, 8, 12, 20, 40]) if rng.random() < 0.97 else rng.randrange(100, 300)
    if ascii_only:
        return "".join(chr(rng.randrange(128)) if rng.random() < 0.2 else rng.choice(CHAR_POOLS[0] + "'\"\\")
                       for _ in range(n))
    return "".join(rand_char(rng) for _ in range(n))


def rand_bytes(rng):
    n = rng.choice([0, 1, 2, 4, 8, 16, 33]) if rng.random() < 0.97 else rng.randrange(256, 400)
    if rng.random() < 0.5:
        return bytes(rng.randrange(256) for _ in range(n))
    return rand_str(rng, ascii_only=True).encode("ascii")


def rand_int(rng):
    r = rng.random()
    if r < 0.3:
        return rng.randrange(-300, 300)
    if r < 0.5:
        return rng.choice(SPECIAL_INTS)
    if r < 0.7:
        return rng.randrange(-2 ** 31, 2 ** 31)
    if r < 0.85:
        return rng.randrange(-2 ** 64, 2 ** 64)
    digits = rng.randrange(20, 300)  # huge: past 64 bits, up to a few hundred digits
    return rng.choice([1, -1]) * rng.randrange(10 ** (digits - 1), 10 ** digits)


def rand_float(rng):
    r = rng.random()
    if r < 0.35:
        return rng.choice(SPECIAL_FLOATS)
    if r < 0.6:
        return round(rng.uniform(-1000, 1000), rng.randrange(0, 6))
    if r < 0.8:
        return rng.uniform(-1, 1) * 10.0 ** rng.randrange(-30, 30)
    return float(rng.randrange(-10 ** 17, 10 ** 17))


class Gen:
    def __init__(self, rng, py2=False):
        self.rng = rng
        self.py2 = py2  # only types a Python 2 pickle can carry as such
        self.strs = []  # earlier strings: reused as the same object (memo GET)
        self.shared = []  # earlier small containers: reused as the same object

    def leaf(self):
        rng = self.rng
        kinds = ["none", "bool", "int", "int", "float", "float", "str", "str", "str"]
        if not self.py2:
            kinds += ["bytes", "bytes", "bytearray"]
        k = rng.choice(kinds)
        if k == "none":
            return None
        if k == "bool":
            return rng.random() < 0.5
        if k == "int":
            return rand_int(rng)
        if k == "float":
            return rand_float(rng)
        if k == "bytes":
            return rand_bytes(rng)
        if k == "bytearray":
            return bytearray(rand_bytes(rng))
        return self.string()

    def string(self):
        rng = self.rng
        if self.strs and rng.random() < 0.25:
            return rng.choice(self.strs)  # the very same object again
        s = rand_str(rng, ascii_only=self.py2 and rng.random() < 0.7)
        self.strs.append(s)
        return s

    def hashable(self, depth):
        rng = self.rng
        r = rng.random()
        if depth < 4 and r < 0.1:
            return tuple(self.hashable(depth + 1) for _ in range(rng.randrange(0, 4)))
        if depth < 4 and r < 0.13 and not self.py2:
            return frozenset(self.hashable(depth + 1) for _ in range(rng.randrange(0, 4)))
        while True:
            v = self.leaf()
            if not isinstance(v, bytearray):
                return v

    def value(self, depth=0):
        rng = self.rng
        if depth >= 6 or rng.random() < 0.25 + 0.12 * depth:
            return self.leaf()
        if self.shared and rng.random() < 0.08:
            return rng.choice(self.shared)  # the same container object twice
        kinds = ["list", "list", "list", "dict", "dict", "dict", "dict", "tuple", "tuple"]
        if not self.py2:
            kinds += ["set", "frozenset"]
        k = rng.choice(kinds)
        n = rng.choice([0, 1, 1, 2, 3, 4, 6])
        if k == "list":
            v = [self.value(depth + 1) for _ in range(n)]
        elif k == "tuple":
            v = tuple(self.value(depth + 1) for _ in range(n))
        elif k == "dict":
            v = {}
            for _ in range(n):
                key = self.string() if rng.random() < 0.7 else self.hashable(depth + 1)
                v[key] = self.value(depth + 1)
        elif k == "set":
            v = {self.hashable(depth + 1) for _ in range(n)}
        else:
            v = frozenset(self.hashable(depth + 1) for _ in range(n))
        if count_nodes(v) <= 12:
            self.shared.append(v)
        return v


EDGE_OBJECTS = [
    {"clientid": 54321},
    {"clientid": "54321"},
    "Server got the data",
    {"name": "Jose Ortiz", "email": "jose@sfsu.edu", "student_id": 917654321, "github_username": "jortiz"},
    None, True, False, 0, -1, 2 ** 64, -(2 ** 200), 10 ** 299,
    0.1, 1e16, 1e-5, -0.0, math.inf, -math.inf, math.nan, 1e22, 5e-324,
    "", "'", '"', "'\"", "\\", "\n\r\t\x00\x7f", "é", "\u2028", "😀", "\U000E0001",
    b"", b"'", b"\"'", b"\x00\xff\n", bytearray(), bytearray(b"ab"),
    [], (), {}, set(), frozenset(), (1,), ((),), [[]], {1}, frozenset({"a"}), {(1, 2)},
    {1, 2, 3}, frozenset({"b", "a"}), {frozenset({1, 2}), frozenset()},
    # Long batches, still inside the default decoder's 512-entry stack (one APPENDS/SETITEMS
    # batch sits on the stack whole).
    list(range(400)),
    {str(i): i for i in range(200)},
]


def shared_edge_objects():
    s = "shared string"
    lst = [1, 2]
    t = (s, lst)
    return [[s, s], [lst, lst], {"a": lst, "b": lst, s: t, "t": t}, [t, t, s]]


def expect(back):
    """The mode and expected text for the loaded object `back`. A set's order is that of the
    loaded set (adding the pickled elements in order), which may differ from the original's."""
    mode = "canon" if has_unordered_set(back) else "exact"
    expected = canon(back) if mode == "canon" else repr(back)
    if mode == "exact":
        assert canon(back) == expected, (canon(back), expected)
    assert "\n" not in expected and "\r" not in expected
    return mode, expected


def emit_repr(out, source, obj, protocols=range(6)):
    for proto in protocols:
        data = pickle.dumps(obj, proto)
        back = pickle.loads(data)
        mode, expected = expect(back)
        assert canon(back, True) == canon(obj, True) or "nan" in expected, (obj, back)
        out.write(f"{source} {proto} {mode} {data.hex()} {expected}\n")


def fits(obj):
    if count_nodes(obj) > MAX_NODES:
        return False
    return all(len(pickle.dumps(obj, p)) <= MAX_PICKLE for p in range(6))


# ---------------------------------------------------------------------------------------------
# Python 2 pickles, written as CPython 2.7's cPickle writes them: byte strings as STRING /
# BINSTRING / SHORT_BINSTRING, `I01`/`I00` booleans, `L...L` longs, a memo PUT after every
# string and container. CPython 3's pickle.loads (encoding='ASCII') is the oracle for them.


class Py2Pickler:
    def __init__(self, proto):
        self.proto = proto
        self.out = bytearray()
        self.memo = {}

    def dumps(self, obj):
        if self.proto >= 2:
            self.out += b"\x80" + bytes([self.proto])
        self.save(obj)
        self.out += b"."
        return bytes(self.out)

    def put(self, obj):
        n = len(self.memo)
        self.memo[id(obj)] = (n, obj)
        if self.proto == 0:
            self.out += b"p%d\n" % n
        elif n < 256:
            self.out += b"q" + bytes([n])
        else:
            self.out += b"r" + n.to_bytes(4, "little")

    def get(self, obj):
        n = self.memo[id(obj)][0]
        if self.proto == 0:
            self.out += b"g%d\n" % n
        elif n < 256:
            self.out += b"h" + bytes([n])
        else:
            self.out += b"j" + n.to_bytes(4, "little")

    def save(self, obj):
        out, proto = self.out, self.proto
        if id(obj) in self.memo:
            return self.get(obj)
        if obj is None:
            out += b"N"
        elif obj is True or obj is False:
            if proto >= 2:
                out += b"\x88" if obj else b"\x89"
            else:
                out += b"I01\n" if obj else b"I00\n"
        elif isinstance(obj, int):
            if -2 ** 63 <= obj < 2 ** 63:  # a Python 2 `int` on a 64-bit machine
                if proto >= 1 and 0 <= obj < 256:
                    out += b"K" + bytes([obj])
                elif proto >= 1 and 0 <= obj < 65536:
                    out += b"M" + obj.to_bytes(2, "little")
                elif proto >= 1 and -2 ** 31 <= obj < 2 ** 31:
                    out += b"J" + obj.to_bytes(4, "little", signed=True)
                else:
                    out += b"I%d\n" % obj
            elif proto >= 2:  # a `long`
                enc = pickle.encode_long(obj)
                if len(enc) < 256:
                    out += b"\x8a" + bytes([len(enc)]) + enc
                else:
                    out += b"\x8b" + len(enc).to_bytes(4, "little", signed=True) + enc
            else:
                out += b"L%dL\n" % obj
        elif isinstance(obj, float):
            if proto >= 1:
                out += b"G" + __import__("struct").pack(">d", obj)
            else:
                out += b"F" + repr(obj).encode() + b"\n"
        elif isinstance(obj, str):
            if obj.isascii():  # a Python 2 `str` (bytes)
                raw = obj.encode("ascii")
                if proto == 0:
                    out += b"S" + repr(raw)[1:].encode("ascii") + b"\n"
                elif len(raw) < 256:
                    out += b"U" + bytes([len(raw)]) + raw
                else:
                    out += b"T" + len(raw).to_bytes(4, "little") + raw
            else:  # a `unicode`
                if proto == 0:
                    text = obj.replace("\\", "\\u005c").replace("\n", "\\u000a")
                    out += b"V" + text.encode("raw-unicode-escape") + b"\n"
                else:
                    raw = obj.encode("utf-8")
                    out += b"X" + len(raw).to_bytes(4, "little") + raw
            self.put(obj)
        elif isinstance(obj, tuple):
            if not obj:
                out += b")" if proto >= 1 else b"(t"
                return
            if proto >= 2 and len(obj) <= 3:
                for e in obj:
                    self.save(e)
                if id(obj) in self.memo:  # the tuple was reached through its own elements
                    out += b"0" * len(obj)
                    return self.get(obj)
                out += {1: b"\x85", 2: b"\x86", 3: b"\x87"}[len(obj)]
            else:
                out += b"("
                for e in obj:
                    self.save(e)
                out += b"t"
            self.put(obj)
        elif isinstance(obj, list):
            out += b"(l" if proto == 0 else b"]"
            self.put(obj)
            if proto == 0:
                for e in obj:
                    self.save(e)
                    out += b"a"
            elif obj:
                for i in range(0, len(obj), 1000):
                    out += b"("
                    for e in obj[i:i + 1000]:
                        self.save(e)
                    out += b"e"
        elif isinstance(obj, dict):
            out += b"(d" if proto == 0 else b"}"
            self.put(obj)
            items = list(obj.items())
            if proto == 0:
                for k, v in items:
                    self.save(k)
                    self.save(v)
                    out += b"s"
            elif len(items) == 1:
                self.save(items[0][0])
                self.save(items[0][1])
                out += b"s"
            elif items:
                for i in range(0, len(items), 1000):
                    out += b"("
                    for k, v in items[i:i + 1000]:
                        self.save(k)
                        self.save(v)
                    out += b"u"
        else:
            raise TypeError(type(obj))


def emit_py2(out, obj):
    for proto in range(3):
        data = Py2Pickler(proto).dumps(obj)
        pickletools.dis(data, out=io.StringIO())  # well-formed
        back = pickle.loads(data)
        mode, expected = expect(back)
        assert canon(back, True) == canon(obj, True) or "nan" in expected, (data, back, obj)
        out.write(f"py2 {proto} {mode} {data.hex()} {expected}\n")


# ---------------------------------------------------------------------------------------------


def gen_repr(out):
    rng = random.Random(SEED)
    for obj in EDGE_OBJECTS + shared_edge_objects():
        emit_repr(out, "edge", obj)
    # Python 2 writes the lab's hello exactly so:
    lab = b"(dp0\nS'clientid'\np1\nI54321\ns."
    assert pickle.loads(lab) == {"clientid": 54321}
    out.write(f"py2 0 exact {lab.hex()} {{'clientid': 54321}}\n")
    gen = Gen(rng)
    made = 0
    while made < RANDOM_OBJECTS:
        obj = gen.value()
        if not fits(obj):
            continue
        emit_repr(out, "rand", obj)
        made += 1
    gen2 = Gen(random.Random(SEED + 2), py2=True)
    made = 0
    while made < PY2_OBJECTS:
        obj = gen2.value()
        if not fits(obj):
            continue
        emit_py2(out, obj)
        made += 1


IDENTITY = {"name": "Jose Ortiz", "email": "jose@sfsu.edu", "student_id": 917654321,
            "github_username": "jortiz"}


def gen_serde(out):
    cases = {
        "identity": IDENTITY,
        "identity_utf8": dict(IDENTITY, name="José Ortiz 😀", github_username="j\"ortiz'"),
        "option_none": {"x": None, "y": 5},
        "u8_255": 255, "u8_300": 300, "i8_-128": -128, "i8_-129": -129, "neg1": -1,
        "u64_max": 2 ** 64 - 1, "i64_overflow": 2 ** 63, "i64_min": -2 ** 63,
        "bytes": {"data": b"\x00\x01binary\xff"},
        "list_ints": [1, 2, 3], "tuple_ints": (1, 2, 3), "set_ints": {1, 2, 3},
        "float": 0.5,
    }
    for name, obj in cases.items():
        for proto in range(6):
            out.write(f"{name} {proto} {pickle.dumps(obj, proto).hex()}\n")
    # A Python 2 server's identity dict: every key and value a byte string (SHORT_BINSTRING/STRING).
    for proto in range(3):
        data = Py2Pickler(proto).dumps(IDENTITY)
        assert pickle.loads(data) == IDENTITY
        out.write(f"identity_py2 {proto} {data.hex()}\n")


class Evil:
    """Pickles as a call of os.system (posix.system on Linux). Never unpickled here."""

    def __reduce__(self):
        import os
        return (os.system, ("true",))


class Plain:
    """A user class: CPython pickles its instances by reference to the class (and, in
    protocols 0-1, through copyreg._reconstructor), which unpickling would import and call."""

    def __init__(self):
        self.x = 1


def gen_refused(out):
    import os

    class PersistentPickler(pickle.Pickler):
        def persistent_id(self, obj):
            return "pid" if obj == "external" else None

    def persistent(proto):
        f = io.BytesIO()
        PersistentPickler(f, proto).dump(["external"])
        return f.getvalue()

    def out_of_band():
        return pickle.dumps(pickle.PickleBuffer(b"abc"), 5, buffer_callback=lambda b: False)

    cases = [
        # name, pickle, refused opcode, global
        ("global_reduce_p0", b"cos\nsystem\n(S'true'\ntR.", "GLOBAL", "os.system"),
        ("global_reduce_p2", b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85R.", "GLOBAL", "os.system"),
        ("cpython_reduce_p0", pickle.dumps(Evil(), 0), "GLOBAL", f"{os.system.__module__}.system"),
        ("cpython_reduce_p2", pickle.dumps(Evil(), 2), "GLOBAL", f"{os.system.__module__}.system"),
        ("stack_global_p4", b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x04true\x85R.",
         "STACK_GLOBAL", "os.system"),
        ("cpython_stack_global_p4", pickle.dumps(Evil(), 4), "STACK_GLOBAL", f"{os.system.__module__}.system"),
        ("nested_stack_global_p5", pickle.dumps({"a": [1, Evil()]}, 5), "STACK_GLOBAL",
         f"{os.system.__module__}.system"),
        ("eval_not_allowed_p2", b"\x80\x02c__builtin__\neval\nX\x01\x00\x00\x001\x85R.", "GLOBAL", "__builtin__.eval"),
        ("getattr_not_allowed_p4", b"\x80\x04\x8c\x08builtins\x8c\x07getattr\x93.", "STACK_GLOBAL", "builtins.getattr"),
        ("reduce_p2", b"\x80\x02N)R.", "REDUCE", None),
        ("inst_p0", b"(S'true'\nios\nsystem\n.", "INST", "os.system"),
        ("obj_p1", b"(N)o.", "OBJ", None),
        ("newobj_p2", b"\x80\x02N)\x81.", "NEWOBJ", None),
        ("newobj_ex_p4", b"\x80\x04N)}\x92.", "NEWOBJ_EX", None),
        ("ext1_p2", b"\x80\x02\x82\x01.", "EXT1", None),
        ("ext2_p2", b"\x80\x02\x83\x01\x00.", "EXT2", None),
        ("ext4_p2", b"\x80\x02\x84\x01\x00\x00\x00.", "EXT4", None),
        ("persid_p0", persistent(0), "PERSID", None),
        ("binpersid_p2", persistent(2), "BINPERSID", None),
        ("build_p2", b"\x80\x02)}b.", "BUILD", None),
        ("next_buffer_p5", out_of_band(), "NEXT_BUFFER", None),
        ("readonly_buffer_p5", b"\x80\x05C\x03abc\x98.", "READONLY_BUFFER", None),
        # CPython's pickles of a user class instance: the class (or copyreg's helper) is
        # refused where it is named, before any NEWOBJ/REDUCE/BUILD could run.
        # copy_reg._reconstructor and __builtin__.object are names brine knows (issue 22):
        # the class is what it refuses.
        ("class_instance_p0", pickle.dumps(Plain(), 0), "GLOBAL", "__main__.Plain"),
        ("class_instance_p1", pickle.dumps(Plain(), 1), "GLOBAL", "__main__.Plain"),
        ("class_instance_p2", pickle.dumps(Plain(), 2), "GLOBAL", "__main__.Plain"),
        ("class_instance_p4", pickle.dumps(Plain(), 4), "STACK_GLOBAL", "__main__.Plain"),
        # Other ways to run code: import, exec, a subprocess; INST even of an allowed name.
        ("import_p0", b"c__builtin__\n__import__\n(S'os'\ntR.", "GLOBAL", "__builtin__.__import__"),
        ("exec_p4", b"\x80\x04\x8c\x08builtins\x8c\x04exec\x93\x8c\x01x\x85R.", "STACK_GLOBAL",
         "builtins.exec"),
        ("subprocess_p4", b"\x80\x04\x8c\nsubprocess\x8c\x05Popen\x93\x8c\x04true\x85R.",
         "STACK_GLOBAL", "subprocess.Popen"),
        ("inst_allowed_name_p0", b"(]i__builtin__\nset\n.", "INST", "__builtin__.set"),
    ]
    for name, data, opname, glob in cases:
        pickletools.dis(data, out=io.StringIO())  # well-formed; never pickle.loads these
        # The expected opcode is the first one that would import, call or build anything
        # (a GLOBAL of a name brine decodes, KNOWN, is not).
        ops = [(op.name, arg, pos) for op, arg, pos in pickletools.genops(data)
               if op.name in REFUSED and not (op.name == "GLOBAL" and arg in KNOWN)]
        first, _, offset = ops[0]
        assert first == opname, (name, first, opname)
        out.write(f"{name} {opname} {offset} {glob or '-'} {data.hex()}\n")


KNOWN = {"copy_reg _reconstructor", "__builtin__ object"}
REFUSED = {"GLOBAL", "STACK_GLOBAL", "REDUCE", "BUILD", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX",
           "EXT1", "EXT2", "EXT4", "PERSID", "BINPERSID", "NEXT_BUFFER", "READONLY_BUFFER"}


# ---------------------------------------------------------------------------------------------
# dict keys and set items: equal keys merged, unhashable ones refused, CPython's set order


def binfloat(x):
    return b"G" + struct.pack(">d", x)


def long1(n, size=None):
    size = size or (n.bit_length() + 8) // 8
    return b"\x8a" + bytes([size]) + n.to_bytes(size, "little", signed=True)


KEY_LEAVES = [
    b"K\x01", b"\x88", b"\x89", b"K\x00", b"K\x02", b"J\xff\xff\xff\xff", b"M\x00\x01",
    # INT arguments the C unpickler reads as bools, and ones it does not
    b"I01\n", b"I00\n", b"I 1\n", b"I+1\n", b"I-0\n", b"I+0\n", b"I\t0\n", b"I1\n", b"I0\n", b"I-1\n",
    binfloat(1.0), binfloat(0.0), binfloat(-0.0), binfloat(-1.0), binfloat(2.0), binfloat(0.5),
    binfloat(math.inf), binfloat(2.0 ** 64), binfloat(-2.0 ** 64), binfloat(2.0 ** 63), b"F1.0\n",
    long1(2 ** 64), long1(2 ** 64, 12), long1(-2 ** 64), long1(2 ** 63), long1(1, 3),
    b"L18446744073709551616L\n", b"I18446744073709551616\n", b"I-18446744073709551616\n",
    b"I9223372036854775808\n", long1(2 ** 200 + 1), long1(2 ** 61 + 1), b"J\x01\x00\x00\x00",
    # 'a' as every string opcode writes it (Python 2 str and unicode), '' and b''
    b"U\x01a", b"T\x01\x00\x00\x00a", b"S'a'\n", b'S"a"\n', b"Va\n", b"X\x01\x00\x00\x00a", b"\x8c\x01a",
    b"\x8c\x01b", b"\x8c\x00", b"U\x00", b"C\x00", b"C\x01a", b"B\x01\x00\x00\x00a", b"N",
    # tuples and frozensets, equal in several spellings
    b"K\x01K\x02\x86", binfloat(1.0) + b"K\x02\x86", b"\x88K\x02\x86", b")", b"(t", b"N\x85",
    b"(K\x01K\x02\x91", b"(K\x02\x88K\x01\x91", b"(" + binfloat(2.0) + b"\x88\x91", b"(\x91",
    b"NAN", b"NAN", b"SHARED_NAN", b"SHARED_NAN", b"SHARED_NAN",
]
UNHASHABLE = [b"]", b"}", b"\x8f", b"\x96\x00\x00\x00\x00\x00\x00\x00\x00", b"]\x85",
              b"K\x01K\x02}\x86\x86", b"(\x8f\x85\x85\x91"]


class KeyPickle:
    def __init__(self, rng):
        self.rng = rng
        self.nan_stored = False

    def leaf(self, unhashable_rate):
        rng = self.rng
        frag = rng.choice(UNHASHABLE) if rng.random() < unhashable_rate else rng.choice(KEY_LEAVES)
        if frag == b"NAN":
            return binfloat(math.nan)
        if frag == b"SHARED_NAN":  # one NaN object, memoized in slot 200 and fetched again
            if self.nan_stored:
                return b"h\xc8"
            self.nan_stored = True
            return binfloat(math.nan) + b"q\xc8"
        return frag

    def container(self):
        rng = self.rng
        n = rng.choice([2, 2, 3, 4, 5, 8, 12, 30])
        bad = 0.02 if rng.random() < 0.5 else 0.0
        keys = [self.leaf(bad) for _ in range(n)]
        kind = rng.choice(["setitems", "setitem", "dict", "additems", "frozenset", "set_reduce",
                           "frozenset_reduce"])
        if kind in ("setitems", "setitem", "dict"):
            pairs = [k + rng.choice(KEY_LEAVES[:6] + [b"]", b"\x8c\x01v"]) for k in keys]
            if kind == "setitems":
                return b"}(" + b"".join(pairs) + b"u"
            if kind == "setitem":
                return b"}" + b"".join(p + b"s" for p in pairs)
            return b"(" + b"".join(pairs) + b"d"
        if kind == "additems":
            cut = rng.randrange(n + 1)
            return b"\x8f(" + b"".join(keys[:cut]) + b"\x90(" + b"".join(keys[cut:]) + b"\x90"
        if kind == "frozenset":
            return b"(" + b"".join(keys) + b"\x91"
        name = b"set" if kind == "set_reduce" else b"frozenset"
        return b"c__builtin__\n" + name + b"\n(" + b"".join(keys) + b"l\x85R"


# The examples (CPython decides each).
KEY_FIXTURES = [
    b"}(K\x01U\x01aK\x01U\x01bu.",
    b"\x80\x04\x8f(K\x01\x88\x89K\x00\x90.",
    b"\x80\x05\x95\n\x00\x00\x00\x00\x00\x00\x00(K\x05K\x14K-\x91\x94.",
    b"\x80\x04\x8f(]\x90.", b"\x80\x04}(]K\x01u.",
    b"I 1\n.", b"I+1\n.", b"I-0\n.", b"I+0\n.", b"I\t0\n.",
]


def gen_keys(out):
    rng = random.Random(SEED + 7)
    cases = list(KEY_FIXTURES)
    while len(cases) < 3000:
        body = KeyPickle(rng).container()
        cases.append(b"\x80\x02" + (body + b"\x85" if rng.random() < 0.2 else body) + b".")
    # Large sets of fixed hashes, as CPython pickles them: every table resize up to 2048 slots.
    for n in (9, 20, 100, 300, 310, 500):  # 500: within the default decoder's stack
        pool = [lambda: rng.randrange(-300, 300), lambda: rng.randrange(-2 ** 70, 2 ** 70),
                lambda: rng.randrange(1000) / 8, lambda: (rng.randrange(9), rng.random() < 0.5)]
        obj = set()
        while len(obj) < n:
            obj.add(rng.choice(pool)())
        for proto in (2, 4):
            cases.append(pickle.dumps(obj, proto))
            cases.append(pickle.dumps(frozenset(obj), proto))
    for data in cases:
        try:
            mode, expected = expect(pickle.loads(data))
        except TypeError as e:
            mode, expected = "error", f"TypeError: {e}"
        out.write(f"keys 2 {mode} {data.hex()} {expected}\n")


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "repr"
    out = io.StringIO()
    {"repr": gen_repr, "keys": gen_keys, "serde": gen_serde, "refused": gen_refused}[what](out)
    sys.stdout.write(out.getvalue())


if __name__ == "__main__":
    main()
