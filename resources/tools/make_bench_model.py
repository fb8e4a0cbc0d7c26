#!/usr/bin/env python3
"""A random-weight model in Llama-3.2-1B shapes, for speed measurements on
weights that do not fit in the CPU cache (its perplexity means nothing; its
tokens/s, memory and quantization time do). Development only: CI and the
product never run this.

Shapes: hidden 2048, 16 layers, feed-forward 8192, 32 query / 8 KV heads
(head_dim 64), tied embedding/head as in Llama-3.2-1B, RoPE theta 500000,
weights N(0, 0.02), norms 1. The tokenizer (49,152 entries) and its
metadata are copied from the default model's GGUF, so `anyprec run/bench`
tokenize as they do for SmolLM2. Written as an F16 GGUF (~2.2 GB).

    pip install gguf numpy            # the writer and the random numbers
    python3 resources/tools/make_bench_model.py \
        ~/.cache/anyprec/models/SmolLM2-135M-Instruct.Q4_1.gguf /tmp/llama1b-random.f16.gguf
    anyprec quantize /tmp/llama1b-random.f16.gguf -o /tmp/llama1b-random.anyprec.safetensors \
        --calib ~/.cache/anyprec/text/sherlock.txt --calib-tokens 512 -t 2
    anyprec bench /tmp/llama1b-random.anyprec.safetensors -t 2 --no-source --reps 3

Options: --layers N, --seed S (defaults 16 and 0).
"""
import argparse
import sys

import numpy as np
import gguf

HIDDEN, FFN, HEADS, KV_HEADS, CTX, THETA, EPS = 2048, 8192, 32, 8, 4096, 500000.0, 1e-5


def copy_tokenizer(reader: gguf.GGUFReader, w: gguf.GGUFWriter) -> int:
    """Copies every tokenizer.* key; returns the vocabulary size."""
    vocab = 0
    for name, field in reader.fields.items():
        if not name.startswith("tokenizer."):
            continue
        vtype = field.types[0]
        value = field.contents()
        if vtype == gguf.GGUFValueType.ARRAY:
            if name == "tokenizer.ggml.tokens":
                vocab = len(value)
            w.add_array(name, value)  # element type from the values: strings, or int32 token types
        else:
            w.add_key_value(name, value, vtype)
    return vocab


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tokenizer_gguf", help="GGUF whose tokenizer is copied (the default model)")
    ap.add_argument("out", help="output .gguf (F16)")
    ap.add_argument("--layers", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    reader = gguf.GGUFReader(a.tokenizer_gguf)
    w = gguf.GGUFWriter(a.out, "llama")
    w.add_name("llama-3.2-1b-shaped random N(0, 0.02)")
    w.add_block_count(a.layers)
    w.add_context_length(CTX)
    w.add_embedding_length(HIDDEN)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_rope_freq_base(THETA)
    w.add_layer_norm_rms_eps(EPS)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    vocab = copy_tokenizer(reader, w)
    if vocab == 0:
        print("no tokenizer.ggml.tokens in " + a.tokenizer_gguf, file=sys.stderr)
        return 1
    w.add_vocab_size(vocab)

    rng = np.random.default_rng(a.seed)
    head_dim = HIDDEN // HEADS

    def normal(rows: int, cols: int) -> np.ndarray:
        # numpy shape (rows, cols) = ggml shape [cols, rows]: rows outputs of cols inputs
        return (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(np.float16)

    ones = np.ones(HIDDEN, dtype=np.float32)
    w.add_tensor("token_embd.weight", normal(vocab, HIDDEN))  # tied: also the output head
    w.add_tensor("output_norm.weight", ones)
    for i in range(a.layers):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", ones)
        w.add_tensor(p + "attn_q.weight", normal(HEADS * head_dim, HIDDEN))
        w.add_tensor(p + "attn_k.weight", normal(KV_HEADS * head_dim, HIDDEN))
        w.add_tensor(p + "attn_v.weight", normal(KV_HEADS * head_dim, HIDDEN))
        w.add_tensor(p + "attn_output.weight", normal(HIDDEN, HEADS * head_dim))
        w.add_tensor(p + "ffn_norm.weight", ones)
        w.add_tensor(p + "ffn_gate.weight", normal(FFN, HIDDEN))
        w.add_tensor(p + "ffn_up.weight", normal(FFN, HIDDEN))
        w.add_tensor(p + "ffn_down.weight", normal(HIDDEN, FFN))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file(progress=False)
    w.close()
    print(f"wrote {a.out}: {a.layers} layers, hidden {HIDDEN}, ffn {FFN}, heads {HEADS}/{KV_HEADS}, vocab {vocab}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
