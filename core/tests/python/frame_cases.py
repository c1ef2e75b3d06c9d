"""FRAME cases for tests/frames_cpython.rs: valid framed pickles and the same pickles with
their frames moved, each with what CPython's two unpicklers make of it.

Prints one line per case: `hex<TAB>py<TAB>c`, where `py` is pickle.py's `pickle._loads`
(the one that checks frames: "pickle exhausted before end of frame", "beginning of a new
frame before end of current frame") and `c` the C unpickler's `pickle.loads`. Each is
`ok <repr>` (a repr over 1000 characters as `<length> <first 100>...`) or `err <message>`; a pickle.py error also names the opcode being executed and
its offset: `err <OPNAME> <offset> <message>`.

Cases (a fixed seed; no sets of two or more elements, whose repr order varies):
- every value below pickled by CPython in protocols 4 and 5 (one frame, several frames);
- each FRAME's length made 1..n bytes shorter (every n for short pickles, a sample for
  long ones) and 1, 2 or 9 bytes longer;
- a FRAME of every length inserted after each opcode of a short pickle (frames inside frames);
- protocol 0-2 opcode bodies (line arguments: INT, LONG, FLOAT, STRING, UNICODE, GET, PUT,
  GLOBAL) behind PROTO 2 (so pickle.py maps __builtin__) and a FRAME of every length from 0 to past the end.
"""
import pickle
import pickletools
import random
import struct
import sys

random.seed(22)

VALUES = [
    None,
    "hello",
    {"clientid": 54321},
    {"student_name": "Jose Ortiz", "sid": 917654321, "github_username": "jortiz"},
    [1, 2.5, None, True, b"\x00\xff", bytearray(b"xy"), "é😀", 2**70, -(2**100)],
    {"a": [1, (2, 3)], "b": {"c": ("d",)}, "e": frozenset([7])},
    ("x" * 300, b"y" * 300),
    [{"k": i, "v": "v%d" % i} for i in range(40)],
    "z" * 70000,
    [b"b" * 70000, "s" * 5, list(range(400))],
]


class Counting(pickle._Unpickler):
    """pickle.py's unpickler, counting the opcodes it has started."""

    dispatch = {}


for key, load in pickle._Unpickler.dispatch.items():

    def counted(self, load=load):
        self.started += 1
        return load(self)

    Counting.dispatch[key] = counted


def shown(value):
    """The repr, or for a long one `<length> <first 100 characters>...`."""
    text = repr(value)
    return text if len(text) <= 1000 else "%d %s..." % (len(text), text[:100])


def py_result(data):
    import io

    u = Counting(io.BytesIO(data))
    u.started = 0
    try:
        return "ok " + shown(u.load())
    except Exception as e:
        ops = [(op.name, pos) for op, _, pos in pickletools.genops(data)]
        name, pos = ops[u.started - 1] if 0 < u.started <= len(ops) else ("?", -1)
        return "err %s %d %s" % (name, pos, str(e).replace("\n", " "))


def c_result(data):
    try:
        return "ok " + shown(pickle.loads(data))
    except Exception as e:
        return "err " + str(e).replace("\n", " ")


def frames(data):
    """(offset, length) of each FRAME."""
    return [(pos, arg) for op, arg, pos in pickletools.genops(data) if op.name == "FRAME"]


def with_frame_len(data, pos, length):
    return data[: pos + 1] + struct.pack("<Q", length) + data[pos + 9 :]


cases = []
for value in VALUES:
    for proto in (4, 5):
        data = pickle.dumps(value, proto)
        cases.append(data)
        for pos, length in frames(data):
            shorter = range(1, length + 1)
            if length > 64:
                shorter = sorted(set(random.sample(shorter, 12)) | {1, 2, 3, length})
            for n in shorter:
                cases.append(with_frame_len(data, pos, length - n))
            for n in (1, 2, 9):
                cases.append(with_frame_len(data, pos, length + n))

# Frames inside frames: a FRAME of every length after each opcode of a short pickle.
data = pickle.dumps({"a": [1, "bc"], "d": 2**64}, 4)
for _, _, pos in pickletools.genops(data):
    if pos < 11:  # after PROTO and the outer FRAME's header
        continue
    for length in range(0, len(data) - pos + 2):
        cases.append(data[:pos] + b"\x95" + struct.pack("<Q", length) + data[pos:])

# Line arguments inside frames: protocol 0-2 bodies behind PROTO 4 and a FRAME.
for value in [[1, 2**70, 1.5, "ab", b"cd", ("e", "e")], {"k": [None, "k"]}, bytearray(b"q")]:
    for proto in (0, 1, 2):
        body = pickle.dumps(value, proto)
        if body.startswith(b"\x80"):
            body = body[2:]
        for length in range(0, len(body) + 2):
            cases.append(b"\x80\x02\x95" + struct.pack("<Q", length) + body)

for data in cases:
    print("%s\t%s\t%s" % (data.hex(), py_result(data), c_result(data)))
