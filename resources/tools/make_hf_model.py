#!/usr/bin/env python3
"""A random-weight Llama model written as a bf16 Hugging Face folder, in the
shapes of Llama-3.1-8B (default) or Llama-3.2-1B, for measuring quantization
memory/time and decode speed at scale (its perplexity means nothing).
Development only: CI and the product never run this.

    pip install gguf numpy        # gguf only reads the tokenizer of the default model
    python3 resources/tools/make_hf_model.py \
        ~/.cache/anyprec/models/SmolLM2-135M-Instruct.Q4_1.gguf /tmp/llama8b-random --shape 8b
    /usr/bin/time -v anyprec quantize /tmp/llama8b-random -o /tmp/llama8b.anyprec.safetensors \
        --calib ~/.cache/anyprec/text/sherlock.txt --calib-tokens 512 -t 2

Shapes (as the published configs): 8b: hidden 4096, 32 layers, ffn 14336,
32 query / 8 KV heads, vocabulary 128256, untied head, Llama 3 RoPE scaling;
1b: hidden 2048, 16 layers, ffn 8192, 32/8 heads, vocabulary 128256, tied.
Weights N(0, 0.02) rounded to bf16 (cut from one pool of 64M draws), norms 1. The tokenizer.json is the
default model's byte-level BPE (49,152 entries) rebuilt from its GGUF, padded
with entries no merge produces up to Llama 3's 128256 rows. Tensors go into ~4 GB shards with a
model.safetensors.index.json, as published checkpoints are.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import gguf

SHAPES = {
    "8b": dict(hidden=4096, layers=32, ffn=14336, heads=32, kv_heads=8, vocab=128256, tied=False),
    "1b": dict(hidden=2048, layers=16, ffn=8192, heads=32, kv_heads=8, vocab=128256, tied=True),
}
SHARD_BYTES = 4 << 30


def tokenizer_json(reader: gguf.GGUFReader, vocab: int) -> dict:
    f = reader.fields
    tokens = list(f["tokenizer.ggml.tokens"].contents())
    # Llama 3's 128256 rows: ids past the default model's vocabulary become
    # plain entries no merge can produce (printable ASCII, so they decode).
    tokens += [f"<reserved_{i}>" for i in range(vocab - len(tokens))]
    merges = f["tokenizer.ggml.merges"].contents()
    types = list(f["tokenizer.ggml.token_type"].contents()) if "tokenizer.ggml.token_type" in f else []
    types += [1] * (len(tokens) - len(types))
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, t in enumerate(tokens) if types[i] == 3]
    return {
        "version": "1.0",
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "vocab": {t: i for i, t in enumerate(tokens)}, "merges": list(merges)},
    }


def bf16(a: np.ndarray) -> np.ndarray:
    """Round-to-nearest-even fp32 -> bf16 bit patterns."""
    u = a.astype(np.float32).view(np.uint32)
    u = u + 0x7FFF + ((u >> 16) & 1)
    return (u >> 16).astype(np.uint16)


class ShardWriter:
    def __init__(self, out_dir: str, names_shapes: list):
        self.out_dir = out_dir
        # Plan the shards up front so every header is written before its data.
        self.shards, cur, size = [], [], 0
        for name, shape in names_shapes:
            n = int(np.prod(shape)) * 2
            if cur and size + n > SHARD_BYTES:
                self.shards.append(cur)
                cur, size = [], 0
            cur.append((name, shape))
            size += n
        self.shards.append(cur)
        self.weight_map = {}

    def write(self, make):
        total = len(self.shards)
        for k, shard in enumerate(self.shards):
            fname = f"model-{k + 1:05d}-of-{total:05d}.safetensors"
            header, off = {"__metadata__": {"format": "pt"}}, 0
            for name, shape in shard:
                n = int(np.prod(shape)) * 2
                header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + n]}
                off += n
                self.weight_map[name] = fname
            h = json.dumps(header).encode()
            h += b" " * (-len(h) % 8)
            with open(os.path.join(self.out_dir, fname), "wb") as fh:
                fh.write(struct.pack("<Q", len(h)))
                fh.write(h)
                for name, shape in shard:
                    for chunk in make(name, shape):
                        fh.write(chunk.tobytes())
            print(f"wrote {fname}", flush=True)
        with open(os.path.join(self.out_dir, "model.safetensors.index.json"), "w") as fh:
            json.dump({"metadata": {}, "weight_map": self.weight_map}, fh, indent=1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tokenizer_gguf", help="GGUF whose tokenizer is copied (the default model)")
    ap.add_argument("out_dir")
    ap.add_argument("--shape", choices=sorted(SHAPES), default="8b")
    ap.add_argument("--layers", type=int, default=0, help="override the layer count")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    s = dict(SHAPES[a.shape])
    if a.layers:
        s["layers"] = a.layers
    E, F, H, KV, V = s["hidden"], s["ffn"], s["heads"], s["kv_heads"], s["vocab"]
    hd = E // H
    os.makedirs(a.out_dir, exist_ok=True)

    reader = gguf.GGUFReader(a.tokenizer_gguf)
    tok = tokenizer_json(reader, V)
    with open(os.path.join(a.out_dir, "tokenizer.json"), "w") as fh:
        json.dump(tok, fh)
    eos = int(reader.fields["tokenizer.ggml.eos_token_id"].contents())
    bos = int(reader.fields["tokenizer.ggml.bos_token_id"].contents())
    tpl = reader.fields["tokenizer.chat_template"].contents() if "tokenizer.chat_template" in reader.fields else None
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    cfg_tok = {"bos_token": tokens[bos], "eos_token": tokens[eos], "add_bos_token": False}
    if tpl:
        cfg_tok["chat_template"] = tpl
    with open(os.path.join(a.out_dir, "tokenizer_config.json"), "w") as fh:
        json.dump(cfg_tok, fh, indent=1)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "torch_dtype": "bfloat16",
        "hidden_size": E, "intermediate_size": F, "num_hidden_layers": s["layers"],
        "num_attention_heads": H, "num_key_value_heads": KV, "head_dim": hd, "vocab_size": V,
        "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
        "rope_scaling": {"factor": 8.0 if a.shape == "8b" else 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 8192, "rope_type": "llama3"},
        "tie_word_embeddings": s["tied"], "hidden_act": "silu", "attention_bias": False, "mlp_bias": False,
        "bos_token_id": bos, "eos_token_id": eos,
    }
    with open(os.path.join(a.out_dir, "config.json"), "w") as fh:
        json.dump(config, fh, indent=1)

    names = [("model.embed_tokens.weight", (V, E))]
    for i in range(s["layers"]):
        p = f"model.layers.{i}."
        names += [(p + "input_layernorm.weight", (E,)), (p + "self_attn.q_proj.weight", (H * hd, E)),
                  (p + "self_attn.k_proj.weight", (KV * hd, E)), (p + "self_attn.v_proj.weight", (KV * hd, E)),
                  (p + "self_attn.o_proj.weight", (E, H * hd)), (p + "post_attention_layernorm.weight", (E,)),
                  (p + "mlp.gate_proj.weight", (F, E)), (p + "mlp.up_proj.weight", (F, E)),
                  (p + "mlp.down_proj.weight", (E, F))]
    names.append(("model.norm.weight", (E,)))
    if not s["tied"]:
        names.append(("lm_head.weight", (V, E)))

    rng = np.random.default_rng(a.seed)
    # Drawing 8 billion normals takes longer than everything measured with
    # them, so each tensor is cut from random places of one pool of 64M
    # N(0, 0.02) values: every row still holds 4096+ independent-looking
    # bf16 draws, which is all speed, memory and clustering time depend on.
    pool = bf16(rng.standard_normal(64 << 20, dtype=np.float32) * 0.02)
    one = bf16(np.ones(1, dtype=np.float32))

    def make(name, shape):
        if len(shape) == 1:
            yield np.repeat(one, shape[0])
            return
        n, step = int(np.prod(shape)), 16 << 20
        for off in range(0, n, step):
            k = min(step, n - off)
            start = int(rng.integers(0, pool.size - k + 1))
            yield pool[start:start + k]

    ShardWriter(a.out_dir, names).write(make)
    n_params = sum(int(np.prod(sh)) for _, sh in names)
    print(f"wrote {a.out_dir}: {a.shape} shapes, {s['layers']} layers, {n_params / 1e9:.3f} B parameters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
