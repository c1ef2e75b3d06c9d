"""Writes the float repr's slow case (BENCHMARKS.md, "Float repr speed"): a pickle whose shared
lists print as about 16 MB of extreme doubles, like the 628-byte "slow unit" a 7-minute
`cargo fuzz run -O decode_value` saved in session 9 (not kept; this rebuilds its shape).

    python3 fuzz/extreme_floats.py OUT.pickle

32 doubles (a fixed seed: subnormals and the largest and smallest normal exponents) in one
list, referenced 100 times from a second list, that one 225 times from the root: 720,000
floats printed, far under the decoder's expansion limit (2**24).
"""
import pickle
import random
import struct
import sys

rng = random.Random(0x5EED)
floats = []
for i in range(32):
    kind = i % 4
    mantissa = rng.getrandbits(52)
    if kind == 0:
        exponent = 0  # subnormal
        mantissa >>= rng.randrange(0, 40)
    elif kind == 1:
        exponent = rng.randrange(1, 40)  # near 2.2e-308
    else:
        exponent = rng.randrange(2000, 2047)  # near 1.8e308
    bits = (exponent << 52) | mantissa | (rng.getrandbits(1) << 63)
    floats.append(struct.unpack("<d", struct.pack("<Q", bits))[0])
inner = [floats] * 100
root = [inner] * 225
data = pickle.dumps(root, 4)
with open(sys.argv[1], "wb") as f:
    f.write(data)
print(len(data), "bytes;", len(repr(root)), "bytes of repr", file=sys.stderr)
