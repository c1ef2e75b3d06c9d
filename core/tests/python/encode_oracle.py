"""Oracle for core/tests/encode_cpython.rs: compares brine's pickles with CPython's.

Reads JSON lines from stdin, one per case: {"v": <tree>, "enc": [hex of brine's pickle for
protocols 0..5]}. A tree is ["N"], ["T"], ["F"], ["i", "<decimal>"], ["f", "<hex of the
big-endian double>"], ["s", "<text>"], ["b", "<hex>"], ["l", [...]], ["t", [...]] or
["d", [[k, v], ...]].

Python builds the object with equal strs as one (interned) object and equal bytes as one
object, as literals are, so CPython's memo sees them as brine does. For protocols 2-5 the
bytes must equal pickle.dumps(obj, protocol); for 0-1 pickle.loads(brine) must equal obj
(byte equality is counted and reported too). Prints one line per failure and a summary.
"""
import json
import math
import pickle
import pickletools
import struct
import sys
import io

BYTES = {}
SHOW_LOW = bool(__import__('os').environ.get('BRINE_SHOW_LOW'))


def canon_str(s):
    if len(s) == 1 and ord(s) < 256:
        # CPython's one-character latin-1 strs are singletons.
        return bytes([ord(s)]).decode("latin1")
    return sys.intern(s)


def intern_bytes(b):
    return BYTES.setdefault(b, b)


class DuplicateKeys(ValueError):
    """A dict in the test data holds one key twice (as the built objects compare)."""


def build(x, text=canon_str, raw=intern_bytes):
    """The object a tree stands for; `text` and `raw` make strs and bytes (the Python 2
    oracle passes its own)."""
    tag = x[0]
    if tag == "N":
        return None
    if tag == "T":
        return True
    if tag == "F":
        return False
    if tag == "i":
        return int(x[1])
    if tag == "f":
        return struct.unpack(">d", bytes.fromhex(x[1]))[0]
    if tag == "s":
        return text(x[1])
    if tag == "b":
        return raw(bytes.fromhex(x[1]))
    if tag in "lt":
        items = (build(e, text, raw) for e in x[1])
        return list(items) if tag == "l" else tuple(items)
    if tag == "d":
        d = {}
        for k, v in x[1]:
            d[build(k, text, raw)] = build(v, text, raw)
        if len(d) != len(x[1]):
            raise DuplicateKeys("duplicate dict keys in test data")
        return d
    raise ValueError(tag)


def same(a, b):
    """Equality where nan equals nan and -0.0 differs from 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return struct.pack(">d", a) == struct.pack(">d", b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        if len(a) != len(b):
            return False
        for (ka, va), (kb, vb) in zip(a.items(), b.items()):
            if not same(ka, kb) or not same(va, vb):
                return False
        return True
    return a == b


def dis(data, limit=60):
    out = io.StringIO()
    try:
        pickletools.dis(data, out)
    except Exception as e:  # noqa: BLE001 - show what was disassembled
        out.write("!! %r\n" % e)
    lines = [l if len(l) < 150 else l[:140] + "..." for l in out.getvalue().splitlines()]
    if len(lines) > limit:
        lines = lines[: limit // 2] + ["    ..."] + lines[-limit // 2 :]
    return "\n".join(lines)


def explain(case, proto, ours, theirs):
    first = next(
        (i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs))
    )
    lo = max(0, first - 24)
    return "\n".join(
        [
            "FAIL case %d protocol %d: first difference at byte %d (brine %d bytes, CPython %d)"
            % (case, proto, first, len(ours), len(theirs)),
            "  brine   [%d:]: %s" % (lo, ours[lo : first + 40].hex(" ")),
            "  CPython [%d:]: %s" % (lo, theirs[lo : first + 40].hex(" ")),
            "--- brine:",
            dis(ours),
            "--- CPython:",
            dis(theirs),
        ]
    )


def main():
    cases = 0
    failures = 0
    identical_low = 0
    for n, line in enumerate(sys.stdin):
        case = json.loads(line)
        obj = build(case["v"])
        cases += 1
        for proto, hexed in enumerate(case["enc"]):
            ours = bytes.fromhex(hexed)
            theirs = pickle.dumps(obj, proto)
            if ours == theirs:
                if proto < 2:
                    identical_low += 1
                continue
            if proto < 2 and SHOW_LOW:
                print(explain(n, proto, ours, theirs))
            if proto < 2:
                try:
                    back = pickle.loads(ours)
                except Exception as e:  # noqa: BLE001
                    back = e
                if same(back, obj):
                    continue
            failures += 1
            if failures <= 5:
                print(explain(n, proto, ours, theirs))
                print("  value: %s" % repr(obj)[:300])
    print("SUMMARY cases=%d failures=%d identical_p0_p1=%d" % (cases, failures, identical_low))


if __name__ == "__main__":
    main()
