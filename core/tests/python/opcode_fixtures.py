"""Prints the decoder's per-opcode unit-test table: one pickle per data opcode (hand-written
where CPython never emits it) and CPython's repr of pickle.loads of it.

Run: python3 core/tests/python/opcode_fixtures.py  (paste into core/src/pickle/decode.rs tests)
"""
import pickle

CASES = [
    ("PROTO, FRAME, STOP", b"\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00N."),
    ("MARK, TUPLE", b"(K\x01K\x02t."),
    ("POP", b"K\x01K\x020."),
    ("POP of a bare MARK", b"K\x01(0."),
    ("POP_MARK", b"K\x01(K\x02K\x031."),
    ("DUP", b"]2\x86."),
    ("NONE", b"N."),
    ("NEWTRUE, NEWFALSE", b"\x88\x89\x86."),
    ("INT", b"I-42\n."),
    ("INT true", b"I01\n."),
    ("INT false", b"I00\n."),
    ("INT beyond 64 bits", b"I123456789012345678901234567890\n."),
    ("BININT", b"J\xff\xff\xff\xff."),
    ("BININT1", b"K\xff."),
    ("BININT2", b"M\xff\xff."),
    ("LONG", b"L-123456789012345678901234567890L\n."),
    ("LONG small", b"L5L\n."),
    ("LONG1", b"\x8a\t\x00\x00\x00\x00\x00\x00\x00\x80\x00."),
    ("LONG1 empty is zero", b"\x8a\x00."),
    ("LONG4", b"\x8b\x09\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff."),
    ("FLOAT", b"F0.1\n."),
    ("FLOAT exponent", b"F1e+16\n."),
    ("BINFLOAT", b"G\xbf\xf8\x00\x00\x00\x00\x00\x00."),
    ("BINFLOAT -0.0", b"G\x80\x00\x00\x00\x00\x00\x00\x00."),
    ("BINFLOAT inf", b"G\x7f\xf0\x00\x00\x00\x00\x00\x00."),
    ("STRING", b"S'clientid'\n."),
    ("STRING escapes", b"S'it\\'s\\n\\x41'\n."),
    ("STRING double quotes", b"S\"it's\"\n."),
    ("BINSTRING", b"T\x03\x00\x00\x00abc."),
    ("SHORT_BINSTRING", b"U\x03abc."),
    ("UNICODE", b"Vcaf\xe9 \\u20ac\n."),
    ("BINUNICODE", b"X\x05\x00\x00\x00caf\xc3\xa9."),
    ("SHORT_BINUNICODE", b"\x8c\x02\xc3\xa9."),
    ("BINUNICODE8", b"\x8d\x02\x00\x00\x00\x00\x00\x00\x00hi."),
    ("BINBYTES", b"B\x02\x00\x00\x00\x00\xff."),
    ("SHORT_BINBYTES", b"C\x03a'\"."),
    ("BINBYTES8", b"\x8e\x01\x00\x00\x00\x00\x00\x00\x00\n."),
    ("BYTEARRAY8", b"\x96\x02\x00\x00\x00\x00\x00\x00\x00ab."),
    ("EMPTY_LIST", b"]."),
    ("LIST", b"(K\x01K\x02l."),
    ("APPEND", b"]K\x01a."),
    ("APPENDS", b"](K\x01K\x02K\x03e."),
    ("EMPTY_TUPLE", b")."),
    ("TUPLE1", b"K\x01\x85."),
    ("TUPLE2", b"K\x01K\x02\x86."),
    ("TUPLE3", b"K\x01K\x02K\x03\x87."),
    ("EMPTY_DICT", b"}."),
    ("DICT", b"(U\x01aK\x01U\x01bK\x02d."),
    ("SETITEM", b"}U\x01aK\x01s."),
    ("SETITEMS", b"}(U\x01aK\x01U\x01bK\x02u."),
    ("EMPTY_SET", b"\x8f."),
    ("ADDITEMS", b"\x8f(K\x01\x90."),
    ("FROZENSET", b"(K\x01\x91."),
    ("FROZENSET empty", b"(\x91."),
    ("PUT, GET", b"Vab\np0\ng0\n\x86."),
    ("BINPUT, BINGET", b"]q\x05\x8c\x01x\x94h\x05\x86."),
    ("LONG_BINPUT, LONG_BINGET", b"K\x07r\x00\x01\x00\x00j\x00\x01\x00\x00\x86."),
    ("MEMOIZE", b"\x8c\x01a\x94\x8c\x01b\x94h\x00h\x01\x87."),
    ("set via GLOBAL+REDUCE (protocol 2)", b"\x80\x02c__builtin__\nset\nq\x00]q\x01(K\x01K\x02e\x85q\x02Rq\x03."),
    ("frozenset via GLOBAL+REDUCE (protocol 3)", b"\x80\x03cbuiltins\nfrozenset\nq\x00]q\x01K\x01a\x85q\x02Rq\x03."),
    ("bytes via _codecs.encode (protocol 2)", b"\x80\x02c_codecs\nencode\nq\x00X\x03\x00\x00\x00\xc3\xbfaq\x01X\x06\x00\x00\x00latin1q\x02\x86q\x03Rq\x04."),
    ("empty bytes (protocol 2)", b"\x80\x02c__builtin__\nbytes\nq\x00)Rq\x01."),
    ("bytearray (protocol 0)", b"c__builtin__\nbytearray\np0\n(c_codecs\nencode\np1\n(Vab\np2\nVlatin1\np3\ntp4\nRp5\ntp6\nRp7\n."),
    ("bytearray via STACK_GLOBAL (protocol 4)", b"\x80\x04\x95#\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\tbytearray\x94\x93\x94C\x02ab\x94\x85\x94R\x94."),
    ("empty set (protocol 1)", b"c__builtin__\nset\nq\x00(]q\x01tq\x02Rq\x03."),
]

print("    const OPCODE_CASES: &[(&str, &[u8], &str)] = &[")
for name, data in CASES:
    r = repr(pickle.loads(data))
    lit = "".join(chr(b) if 0x20 <= b < 0x7f and chr(b) not in '"\\' else "\\x%02x" % b for b in data)
    rl = r.replace("\\", "\\\\").replace('"', '\\"')
    print(f'        ("{name}", b"{lit}", "{rl}"),')
print("    ];")
