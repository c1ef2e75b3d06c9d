#!/usr/bin/env python3
"""Differential test of `brine pickle decode` against CPython (python3 3.8+, stdlib only).

    python3 tests/servers/differential.py BRINE [--cases 400] [--seed 12]

Cases: CPython's own pickles of random plain data in protocols 0-5, and random opcode
streams (data opcodes only, built stack-aware so that many are valid, many not). For each,
CPython's answer is repr(pickle.loads(data)) or "refused" (it raised, or its repr raised, as
for an int over 4300 digits); brine's is its one output line (exit 0) or "refused" (exit 5).
Prints one JSON line per difference, then a summary line. A difference whose brine error
names one of brine's documented capacity limits (CPython has none) is "limit"; a set or
frozenset holding str, bytes, tuples or None is skipped (CPython's order depends on the
per-process hash seed, or on None's address before 3.12; brine prints pickle order there).
"""

import argparse
import json
import pickle
import random
import struct
import subprocess
import sys

LIMITS = ("pickle too large",)


def random_value(r, depth=0):
    leaves = [
        lambda: None, lambda: True, lambda: False,
        lambda: r.randrange(-300, 300),
        lambda: r.randrange(-2**70, 2**70),
        lambda: r.choice([0, 1, -1, 2**31, -2**31 - 1, 2**63, 2**64, -2**64, 10**50]),
        lambda: r.choice([0.0, -0.0, 1.5, 1e100, 1e-300, float("inf"), float("-inf"),
                          r.uniform(-1e6, 1e6)]),
        lambda: "".join(r.choice("ab'\"\\\n\t\x00é€😀\u2028 ") for _ in range(r.randrange(6))),
        lambda: bytes(r.randrange(256) for _ in range(r.randrange(5))),
        lambda: bytearray(r.randrange(256) for _ in range(r.randrange(4))),
    ]
    if depth >= 3 or r.random() < 0.4:
        return r.choice(leaves)()
    kind = r.randrange(6)
    n = r.randrange(5)
    items = [random_value(r, depth + 1) for _ in range(n)]
    hashable = [x for x in items if isinstance(x, (int, float, bool, type(None), tuple))
                and not (isinstance(x, tuple) and any(isinstance(y, (list, dict, set, bytearray)) for y in x))]
    if kind == 0:
        return items
    if kind == 1:
        return tuple(items)
    if kind == 2:
        return {k: v for k, v in zip(hashable, items)} if r.random() < 0.5 else \
            {str(i) + "k": v for i, v in enumerate(items)}
    if kind == 3:
        return set(x for x in hashable if not isinstance(x, tuple))
    if kind == 4:
        return frozenset(x for x in hashable if not isinstance(x, tuple))
    shared = random_value(r, depth + 1)
    return [shared, shared]


def random_stream(r):
    """Data opcodes, stack-aware: mostly valid, with random slips."""
    out = bytearray(b"\x80" + bytes([r.randrange(6)]))
    depth = 0
    marks = []
    memo = 0
    for _ in range(r.randrange(1, 25)):
        k = r.random()
        if depth == 0 or k < 0.45:
            op = r.choice([
                b"N", b"\x88", b"\x89", b"K" + bytes([r.randrange(256)]),
                b"J" + struct.pack("<i", r.randrange(-2**31, 2**31)),
                b"I" + r.choice([b"1", b"0", b"01", b"00", b"+1", b"-0", b" 1", b"7", b"-12"]) + b"\n",
                b"L" + r.choice([b"1", b"-5", b"123456789012345678901234567890"]) + b"L\n",
                b"\x8a" + bytes([n := r.randrange(0, 9)]) + bytes(r.randrange(256) for _ in range(n)),
                b"G" + struct.pack(">d", r.choice([0.5, -0.0, 1e300, float("nan")])),
                b"F" + r.choice([b"1.5", b"-0.0", b"1e5", b"nan", b"inf"]) + b"\n",
                b"\x8c" + bytes([n := r.randrange(0, 5)]) + bytes(r.choice(b"ab\xc3\xa9\xff'") for _ in range(n)),
                b"C" + bytes([n := r.randrange(0, 4)]) + bytes(r.randrange(256) for _ in range(n)),
                b"S'" + r.choice([b"a", b"\\x00", b"it\\'s", b"\\n"]) + b"'\n",
                b"V" + r.choice([b"a", b"\\u00e9", b"\\ud800", b"x\\u2028"]) + b"\n",
                b"]", b")", b"}", b"\x8f",
            ])
            out += op
            depth += 1
            if op in (b"]", b")", b"}", b"\x8f") and r.random() < 0.5:
                out += b"\x94"
                memo += 1
        elif k < 0.6:
            out += b"("
            marks.append(depth)
        elif k < 0.7 and memo:
            out += b"h" + bytes([r.randrange(memo + (r.random() < 0.1))])
            depth += 1
        elif k < 0.75:
            out += b"\x94"
            memo += 1
        else:
            op = r.choice([b"a", b"e", b"s", b"u", b"t", b"l", b"d", b"\x85", b"\x86", b"\x87",
                           b"\x90", b"\x91", b"0", b"2"])
            out += op
            if op in (b"e", b"u", b"t", b"l", b"d", b"\x90", b"\x91") and marks:
                m = marks.pop()
                depth = m + (0 if op in (b"e", b"u", b"\x90") else 1)
                if op in (b"e", b"u", b"\x90"):
                    depth = max(m, 1) if m else depth
            elif op in (b"a",):
                depth -= 1
            elif op == b"s":
                depth -= 2
            elif op == b"\x86":
                depth -= 1
            elif op == b"\x87":
                depth -= 2
            elif op == b"0":
                depth -= 1
            elif op == b"2":
                depth += 1
            depth = max(depth, 0)
    out += b"."
    return bytes(out)


def has_unordered_text_set(v, seen=None):
    seen = seen if seen is not None else set()
    if id(v) in seen:
        return False
    seen.add(id(v))
    if isinstance(v, (set, frozenset)):
        return any(isinstance(x, (str, bytes, tuple, type(None))) for x in v)
    if isinstance(v, dict):
        return any(has_unordered_text_set(x, seen) for x in list(v.keys()) + list(v.values()))
    if isinstance(v, (list, tuple)):
        return any(has_unordered_text_set(x, seen) for x in v)
    return False


def cpython(data):
    try:
        v = pickle.loads(data)
        return repr(v), v
    except Exception as e:  # noqa: BLE001 (any refusal)
        return "refused", type(e).__name__


def brine(binary, data):
    p = subprocess.run([binary, "pickle", "decode"], input=data, capture_output=True, timeout=30)
    if p.returncode == 0:
        return p.stdout.decode("utf-8", "surrogateescape").rstrip("\n"), ""
    return "refused", p.stderr.decode("utf-8", "replace").strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("brine")
    ap.add_argument("--cases", type=int, default=400)
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args()
    r = random.Random(args.seed)
    cases = []
    for i in range(args.cases):
        if i % 2 == 0:
            cases.append(("value", pickle.dumps(random_value(r), r.randrange(6))))
        else:
            cases.append(("stream", random_stream(r)))
    counts = {"same": 0, "both_refused": 0, "limit": 0, "skipped_set_order": 0, "different": 0}
    for kind, data in cases:
        want, value = cpython(data)
        if want != "refused" and has_unordered_text_set(value):
            counts["skipped_set_order"] += 1
            continue
        got, err = brine(args.brine, data)
        if got == want:
            counts["same" if want != "refused" else "both_refused"] += 1
        elif got == "refused" and any(s in err for s in LIMITS):
            counts["limit"] += 1
        else:
            counts["different"] += 1
            print(json.dumps({"kind": kind, "pickle": data.hex(), "cpython": want,
                              "brine": got, "brine_error": err[:300]}))
    print(json.dumps({"summary": counts, "cases": len(cases)}))


if __name__ == "__main__":
    sys.exit(main())
