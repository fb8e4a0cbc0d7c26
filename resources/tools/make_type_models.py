#!/usr/bin/env python3
"""Development only (needs `pip install gguf numpy`; CI never runs it):
    python3 resources/tools/make_type_models.py SmolLM2-135M-Instruct.Q4_1.gguf OUTDIR Q2_K Q3_K Q4_K Q5_K Q6_K IQ4_NL IQ4_XS
then `anyprec run OUTDIR/smollm2-Q4_K.gguf -p Hello -n 8` for each."""
# Whole-model GGUFs of each block type: SmolLM2's tensors, every 2-D weight
# re-encoded as valid blocks of type T (random codes, small sane scales), to show
# that a full model of each type loads and runs. Text is meaningless.
import sys, numpy as np, gguf
from gguf import GGMLQuantizationType as T
src = gguf.GGUFReader(sys.argv[1])
rng = np.random.default_rng(0)
def f16(v, n): return np.full(n, v, dtype=np.float16).view(np.uint8).reshape(n, 2)
def blocks(t, nb):
    r = lambda k: rng.integers(0, 256, size=(nb, k), dtype=np.uint8)
    if t == T.Q2_K:  return np.hstack([r(16) & 0x33, r(64), f16(0.01, nb), f16(0.005, nb)])
    if t == T.Q3_K:  return np.hstack([r(32), r(64), r(12) & 0x33, f16(0.01, nb)])
    if t == T.Q4_K:  return np.hstack([f16(0.01, nb), f16(0.005, nb), r(12) & 0x1f, r(128)])
    if t == T.Q5_K:  return np.hstack([f16(0.01, nb), f16(0.005, nb), r(12) & 0x1f, r(32), r(128)])
    if t == T.Q6_K:  return np.hstack([r(128), r(64), (r(16) & 0x0f), f16(0.002, nb)])
    if t == T.IQ4_NL: return np.hstack([f16(0.0005, nb), r(16)])
    if t == T.IQ4_XS: return np.hstack([f16(0.0005, nb), np.zeros((nb, 2), np.uint8), r(4) & 0x33, r(128)])
    raise ValueError(t)
for name in sys.argv[3:]:
    t = T[name]
    bsz, tsz = gguf.GGML_QUANT_SIZES[t]
    w = gguf.GGUFWriter(f"{sys.argv[2]}/smollm2-{name}.gguf", "llama")
    for k, f in src.fields.items():
        if k.startswith("GGUF.") or k == "general.architecture": continue
        vt = f.types[0]
        if vt == gguf.GGUFValueType.ARRAY:
            w.add_key_value(k, f.contents(), vt, sub_type=f.types[-1])
        else:
            w.add_key_value(k, f.contents(), vt)
    for te in src.tensors:
        shape = [int(x) for x in te.shape]  # ggml order: ne0 first
        if len(shape) == 2 and shape[0] % bsz == 0:
            nb = shape[0] * shape[1] // bsz
            data = blocks(t, nb).reshape(shape[1], shape[0] // bsz * tsz)
            w.add_tensor(te.name, data, raw_shape=data.shape, raw_dtype=t)
        else:
            arr = gguf.quants.dequantize(te.data, te.tensor_type).astype(np.float32)
            w.add_tensor(te.name, arr.reshape(list(reversed(shape))))
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    print("wrote", name)
