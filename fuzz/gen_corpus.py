#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets: CPython's pickles of lab-like data in every
protocol 0-5, plus a few refused (code-running) pickles, so the fuzzer starts from real
opcode sequences rather than from nothing.

Usage: python3 fuzz/gen_corpus.py [OUT_DIR]   (default: fuzz/corpus)
Writes OUT_DIR/{decode_value,decode_objects,decode_struct,framer_chunks,session_stream}/seed-*.
Deterministic: the same seeds every run. A few hundred small files, never committed.
"""

import hashlib
import os
import pickle
import random
import sys

SEED = 0xF022


class Evil:
    """Pickles as os.system('true') (GLOBAL or STACK_GLOBAL + REDUCE): never run by brine."""

    def __reduce__(self):
        import os as _os

        return (_os.system, ("true",))


def values():
    shared = [1, 2]
    big = 2**200
    yield {"clientid": 54321}
    yield {"clientid": "abc"}
    yield "Server got the data"
    yield {"name": "Jose Ortiz", "email": "jose@sfsu.edu", "student_id": "917654321",
           "github_username": "jortiz"}
    yield {"lab": "TCP client sockets", "due": "Friday", "points": 10}
    yield [1, 2.5, "three", None, True, [], {}]
    yield (1, (2, (3, ())), frozenset({4}), {5, 6})
    yield [shared, shared, {"k": shared}]
    yield b"\x00\xff bytes", bytearray(b"mutable")
    yield [big, -big, 2**63, -(2**63) - 1, 0, -1, 255, 65535, 2**31]
    yield [0.1, -0.0, float("inf"), float("-inf"), float("nan"), 1e300]
    yield "caf\u00e9 \u20ac \U0001f600 \\ ' \" \n"
    yield [[[[[[[["deep"]]]]]]]]
    yield {(1, 2): "tuple key", 3: None, "s": {"nested": [1, {"x": b""}]}}
    yield "x" * 300
    yield list(range(300))
    yield set(), frozenset(), (), [], {}
    yield {"clientid": 1, "msg": ["a"] * 50}


def objects():
    """Standard types and objects of a class brine does not know (issue 22), pickled by
    CPython in every protocol (a class of protocols 0-1 only where it can be pickled)."""
    import collections
    import dataclasses
    import datetime
    import decimal
    import fractions
    import types
    import uuid

    menu = types.ModuleType("menu")
    sys.modules["menu"] = menu

    class Menu:
        def __init__(self):
            self.client = None

    @dataclasses.dataclass
    class Item:
        name: str
        price: float

    class Slots:
        __slots__ = ("a", "b")

        def __init__(self):
            self.a, self.b = 1, "x"

    Point = collections.namedtuple("Point", "x y")
    for c in (Menu, Item, Slots, Point):
        c.__module__, c.__qualname__ = "menu", c.__name__
        setattr(menu, c.__name__, c)
    tz = datetime.timezone(datetime.timedelta(hours=1), "CET")
    yield {"message": "menu", "menu": Menu()}
    yield [Item("tea", 2.5), Point(1, 2), Slots()]
    yield [datetime.datetime(2026, 12, 6, 14, 0, tzinfo=tz), datetime.date(2026, 1, 1),
           datetime.time(1, 2, 3, 4), datetime.timedelta(1, 2, 3), datetime.timezone.utc]
    yield [decimal.Decimal("1.50"), 1 + 2j, fractions.Fraction(1, 3), uuid.UUID(int=5)]
    yield [collections.OrderedDict(a=1), collections.Counter("aab"),
           collections.deque([1], 3), collections.defaultdict(list, {"a": [1]}),
           range(1, 5, 2), slice(1, None)]


def pickles():
    out = []
    for v in values():
        for proto in range(6):
            out.append(pickle.dumps(v, proto))
    for proto in range(6):
        out.append(pickle.dumps(Evil(), proto))
    # Hand-written opcodes CPython does not emit for data: refused or malformed.
    out += [
        b"cos\nsystem\n(S'echo hi'\ntR.",
        b"(S'x'\nios\nsystem\n.",
        b"]\x92.",
        b"\x82\x01.",
        b"Pid\n.",
        b"}}b.",
        b"(o.",
        b"\x8e\x00\x00\x00\x00\x00\x00\x00\x40x.",
        b"h\x03.",
        b"]q\x00h\x00a.",
        b"(" * 200 + b".",
        b"]" * 70 + b"a" * 69 + b".",
    ]
    return out


def write(directory, blobs):
    os.makedirs(directory, exist_ok=True)
    for blob in blobs:
        name = "seed-" + hashlib.sha1(blob).hexdigest()[:16]
        with open(os.path.join(directory, name), "wb") as f:
            f.write(blob)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    rng = random.Random(SEED)
    ps = pickles()
    objs = []
    for v in objects():
        for proto in range(6):
            try:
                objs.append(pickle.dumps(v, proto))
            except TypeError:
                pass  # __slots__ without __getstate__: protocols 2 and later only
    write(os.path.join(out, "decode_objects"), ps + objs)
    write(os.path.join(out, "decode_value"), ps)
    write(os.path.join(out, "decode_struct"), ps)
    client_id = [p for p in ps if p == pickle.dumps({"clientid": 54321}, 4)][0]
    framer, session = [], []
    for _ in range(150):
        stream = b"".join(rng.sample(ps, rng.randint(1, 4)))
        sizes = bytes(rng.randrange(256) for _ in range(rng.randint(0, 7)))
        framer.append(bytes([len(sizes)]) + sizes + stream)
        flags = rng.randrange(8)
        session.append(bytes([flags, len(sizes)]) + sizes + client_id + stream)
    write(os.path.join(out, "framer_chunks"), framer)
    write(os.path.join(out, "session_stream"), session)
    print(f"{len(ps)} pickles; seeds written under {out}")


if __name__ == "__main__":
    main()
