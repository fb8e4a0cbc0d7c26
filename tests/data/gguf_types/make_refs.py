#!/usr/bin/env python3
"""Reference data for the GGUF block decoders (tests/test_ggml_quants.cpp).

For every quantized ggml type the engine loads, writes <TYPE>.gguf holding
  raw       the blocks, stored as that type (4 rows)
  expected  F32, the same shape: gguf.quants.dequantize(raw) from the `gguf`
            package on PyPI, an implementation independent of ours
The blocks are random bytes with the fp16 scale fields overwritten by sane
finite values, plus edge cases: all-zero scales (signed zeros), negative
scales and mins, fp16 subnormal and large scales, all quant bits set, none set.

Run once by a developer (pip install gguf numpy); the outputs are committed
and CI reads them without Python:  python3 tests/data/gguf_types/make_refs.py
"""
import os
import sys
from importlib.metadata import version

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES

# Byte offsets of the fp16 fields of each block: (scale fields, min fields).
# Everything else in a block is quant bits or integer sub-scales, for which
# any byte value is valid.
FP16_FIELDS = {
    T.Q4_0: ([0], []), T.Q4_1: ([0], [2]), T.Q8_0: ([0], []),
    T.Q5_0: ([0], []), T.Q5_1: ([0], [2]),
    T.Q2_K: ([80], [82]), T.Q3_K: ([108], []), T.Q4_K: ([0], [2]),
    T.Q5_K: ([0], [2]), T.Q6_K: ([208], []),
    T.IQ4_NL: ([0], []), T.IQ4_XS: ([0], []),
}
ROWS = 4


def blocks_for(qtype, rng):
    block, nbytes = GGML_QUANT_SIZES[qtype]
    per_row = 2 if block == 256 else 4  # 8 or 16 blocks: the six edge cases and random ones, a few KB
    n = ROWS * per_row
    raw = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    scales, mins = FP16_FIELDS[qtype]

    def put(b, offs, value):
        for o in offs:
            raw[b, o:o + 2] = np.frombuffer(np.float16(value).tobytes(), dtype=np.uint8)

    assert all(o + 2 <= nbytes for o in scales + mins)
    for b in range(n):
        put(b, scales, rng.normal(0, 0.02))
        put(b, mins, rng.normal(0, 0.02))
    # Edge cases, one per block from the start (the rest stay random).
    edge = [
        lambda b: (put(b, scales, 0.0), put(b, mins, 0.0)),       # zero scale: signed zeros
        lambda b: (put(b, scales, -0.75), put(b, mins, -0.5)),    # negative scale and min
        lambda b: (raw.__setitem__(b, 0xFF),                      # every quant bit and sub-scale at max
                   put(b, scales, 1.5), put(b, mins, -2.0)),
        lambda b: (raw.__setitem__(b, 0x00),                      # every quant bit and sub-scale zero
                   put(b, scales, -3.0), put(b, mins, 0.25)),
        lambda b: (put(b, scales, 6e-8), put(b, mins, -6e-8)),    # fp16 subnormals
        lambda b: (put(b, scales, 60000.0), put(b, mins, 1.0)),   # large but finite
    ]
    for b, f in enumerate(edge):
        f(b)
    return raw.reshape(ROWS, -1)


def main():
    out_dir = os.path.dirname(os.path.abspath(__file__))
    rng = np.random.default_rng(20261203)
    for qtype in FP16_FIELDS:
        raw = blocks_for(qtype, rng)
        expected = gguf.quants.dequantize(raw, qtype).astype(np.float32)
        assert np.all(np.isfinite(expected)), qtype.name
        path = os.path.join(out_dir, qtype.name + ".gguf")
        w = gguf.GGUFWriter(path, "refs")
        w.add_string("refs.generator", "gguf " + version("gguf") + ", numpy " + np.__version__)
        w.add_tensor("raw", raw, raw_dtype=qtype)
        w.add_tensor("expected", expected)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        print(f"{path}: {raw.shape[0]} rows x {expected.shape[1]} weights, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    sys.exit(main())
