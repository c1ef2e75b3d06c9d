"""Oracle for the Python 2 encoding in core/tests/encode_cpython.rs.

python2 is not on a fresh machine, so `Py2Pickler` below writes what Python 2.7's pure-Python
`pickle.dumps(obj, protocol)` (Lib/pickle.py, 2.7.18) writes for None, bool, int, long,
float, str, unicode, list, tuple and dict, method by method (save_int, save_string,
save_unicode, _batch_appends, ...). Python 2's str is Python 3's bytes here, unicode is str.

Input: JSON lines {"v": <tree as in encode_oracle.py>, "enc": [hex of brine's pickle with
Python 2 types for protocols 0..2]}. In the Python 2 object, ASCII strs are byte strings
(equal ones one object, as interned literals are), other strs unicode. For each protocol
the bytes must equal Py2Pickler's, CPython 3's `pickle.loads(data, encoding='bytes')` must
give the object back (values whose dicts would hold one key twice in Python 2 are
skipped and counted), and pickletools must read it (except protocol 0's non-ASCII byte
strings, which pickletools decodes as ASCII). Prints failures and a summary.
"""
import io
import json
import pickle
import pickletools
import struct
import sys
from pickle import (APPEND, APPENDS, BINFLOAT, BINGET, BININT, BININT1, BININT2, BINPUT,
                    BINSTRING, BINUNICODE, DICT, EMPTY_DICT, EMPTY_LIST, EMPTY_TUPLE, FLOAT,
                    GET, INT, LIST, LONG, LONG1, LONG4, LONG_BINGET, LONG_BINPUT, MARK, NEWFALSE,
                    NEWTRUE, NONE, PROTO, PUT, SETITEM, SETITEMS, SHORT_BINSTRING, STOP, STRING,
                    TUPLE, TUPLE1, TUPLE2, TUPLE3, UNICODE, encode_long)

from encode_oracle import DuplicateKeys, same
from encode_oracle import build as build_tree

OBJECTS = {}


def py2_repr(b):
    """Python 2's repr of a byte string (PyString_Repr with smart quotes)."""
    quote = b'"' if b"'" in b and b'"' not in b else b"'"
    out = bytearray(quote)
    for c in b:
        if c == quote[0] or c == 0x5C:
            out += bytes([0x5C, c])
        elif c == 0x09:
            out += b"\\t"
        elif c == 0x0A:
            out += b"\\n"
        elif c == 0x0D:
            out += b"\\r"
        elif c < 0x20 or c >= 0x7F:
            out += b"\\x%02x" % c
        else:
            out.append(c)
    return bytes(out + quote)


class Py2Pickler:
    """Python 2.7's pickle.Pickler for the types above (64-bit build: int is 64 bits)."""

    def __init__(self, proto):
        self.proto = proto
        self.bin = proto >= 1
        self.memo = {}
        self.out = []

    def dumps(self, obj):
        if self.proto >= 2:
            self.out.append(PROTO + bytes([self.proto]))
        self.save(obj)
        self.out.append(STOP)
        return b"".join(self.out)

    def write(self, b):
        self.out.append(b)

    def memoize(self, obj):
        i = len(self.memo)
        self.write(self.put(i))
        self.memo[id(obj)] = i, obj

    def put(self, i):
        if self.bin:
            return BINPUT + bytes([i]) if i < 256 else LONG_BINPUT + struct.pack("<i", i)
        return PUT + str(i).encode() + b"\n"

    def get(self, i):
        if self.bin:
            return BINGET + bytes([i]) if i < 256 else LONG_BINGET + struct.pack("<i", i)
        return GET + str(i).encode() + b"\n"

    def save(self, obj):
        x = self.memo.get(id(obj))
        if x:
            self.write(self.get(x[0]))
            return
        t = type(obj)
        if obj is None:
            self.write(NONE)
        elif t is bool:
            if self.proto >= 2:
                self.write(NEWTRUE if obj else NEWFALSE)
            else:
                self.write(b"I01\n" if obj else b"I00\n")
        elif t is int and -(2**63) <= obj < 2**63:
            self.save_int(obj)
        elif t is int:
            if self.proto >= 2:
                b = encode_long(obj)
                n = len(b)
                self.write(LONG1 + bytes([n]) + b if n < 256 else LONG4 + struct.pack("<i", n) + b)
            else:
                self.write(LONG + str(obj).encode() + b"L\n")
        elif t is float:
            if self.bin:
                self.write(BINFLOAT + struct.pack(">d", obj))
            else:
                self.write(FLOAT + repr(obj).encode() + b"\n")
        elif t is bytes:
            if self.bin:
                n = len(obj)
                self.write((SHORT_BINSTRING + bytes([n]) if n < 256 else BINSTRING + struct.pack("<i", n)) + obj)
            else:
                self.write(STRING + py2_repr(obj) + b"\n")
            self.memoize(obj)
        elif t is str:
            if self.bin:
                e = obj.encode("utf-8")
                self.write(BINUNICODE + struct.pack("<i", len(e)) + e)
            else:
                obj = obj.replace("\\", "\\u005c")
                obj = obj.replace("\n", "\\u000a")
                self.write(UNICODE + obj.encode("raw-unicode-escape") + b"\n")
            self.memoize(obj)
        elif t is tuple:
            self.save_tuple(obj)
        elif t is list:
            self.write(EMPTY_LIST if self.bin else MARK + LIST)
            self.memoize(obj)
            self.batch(iter(obj), APPEND, APPENDS, self.save)
        elif t is dict:
            self.write(EMPTY_DICT if self.bin else MARK + DICT)
            self.memoize(obj)
            self.batch(iter(obj.items()), SETITEM, SETITEMS, self.save_item)
        else:
            raise TypeError(t)

    def save_int(self, obj):
        if self.bin:
            if 0 <= obj <= 0xFF:
                return self.write(BININT1 + bytes([obj]))
            if 0 <= obj <= 0xFFFF:
                return self.write(BININT2 + struct.pack("<H", obj))
            if -(2**31) <= obj < 2**31:
                return self.write(BININT + struct.pack("<i", obj))
        self.write(INT + str(obj).encode() + b"\n")

    def save_item(self, kv):
        self.save(kv[0])
        self.save(kv[1])

    def save_tuple(self, obj):
        n = len(obj)
        if n == 0:
            self.write(EMPTY_TUPLE if self.proto else MARK + TUPLE)
            return
        if n <= 3 and self.proto >= 2:
            for e in obj:
                self.save(e)
            self.write([None, TUPLE1, TUPLE2, TUPLE3][n])
            self.memoize(obj)
            return
        self.write(MARK)
        for e in obj:
            self.save(e)
        self.write(TUPLE)
        self.memoize(obj)

    def batch(self, items, one, many, save):
        if not self.bin:
            for x in items:
                save(x)
                self.write(one)
            return
        while True:
            tmp = [x for _, x in zip(range(1000), items)]
            if len(tmp) > 1:
                self.write(MARK)
                for x in tmp:
                    save(x)
                self.write(many)
            elif tmp:
                save(tmp[0])
                self.write(one)
            if len(tmp) < 1000:
                return


def py2_text(s):
    """ASCII strs as byte strings, others unicode; equal values one object."""
    v = s.encode("ascii") if s.isascii() else sys.intern(s)
    return OBJECTS.setdefault((type(v), v), v)


def py2_bytes(b):
    return OBJECTS.setdefault((bytes, b), b)


def build(x):
    """The Python 2 object (ASCII strs as byte strings), equal values one object."""
    return build_tree(x, py2_text, py2_bytes)


def main():
    cases = failures = skipped = 0
    for n, line in enumerate(sys.stdin):
        case = json.loads(line)
        cases += 1
        try:
            obj = build(case["v"])
        except DuplicateKeys:
            skipped += 1
            continue
        for proto, hexed in enumerate(case["enc"]):
            ours = bytes.fromhex(hexed)
            theirs = Py2Pickler(proto).dumps(obj)
            problem = None
            if ours != theirs:
                first = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b),
                             min(len(ours), len(theirs)))
                lo = max(0, first - 24)
                problem = "differs at byte %d\n  brine:    %s\n  Python 2: %s" % (
                    first, ours[lo:first + 40].hex(" "), theirs[lo:first + 40].hex(" "))
            else:
                try:
                    try:
                        pickletools.dis(ours, io.StringIO())
                    except UnicodeDecodeError:
                        # pickletools reads STRING's argument as ASCII text (a limitation
                        # of pickletools, not of pickle): only protocol 0 byte strings.
                        if proto != 0:
                            raise
                    back = pickle.loads(ours, encoding="bytes")
                    if not same(back, obj):
                        problem = "loads(encoding='bytes') gives %r" % (back,)
                except Exception as e:  # noqa: BLE001 - report any failure
                    problem = "CPython cannot read it: %r" % e
            if problem:
                failures += 1
                if failures <= 5:
                    print("FAIL case %d protocol %d: %s\n  value: %s" % (n, proto, problem, repr(obj)[:300]))
    print("SUMMARY cases=%d failures=%d skipped_key_collisions=%d" % (cases, failures, skipped))


main()
