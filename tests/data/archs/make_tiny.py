#!/usr/bin/env python3
"""Tiny random-weight models of each architecture the engine runs, made with
Hugging Face transformers (the independent implementation), plus reference
logits. Development only: CI and the product never run this; its outputs are
committed next to it and checked by tests/test_archs.cpp.

    python3 -m venv /tmp/v && /tmp/v/bin/pip install torch transformers gguf safetensors numpy
    /tmp/v/bin/python tests/data/archs/make_tiny.py            # writes tests/data/archs/<arch>/

Per architecture it writes an HF folder (config.json, model.safetensors in F32,
tokenizer.json, tokenizer_config.json with the family's chat template), the
same weights as <arch>.gguf converted the way llama.cpp's convert_hf_to_gguf.py
does (tensor names from gguf-py's own name map, metadata keys from
gguf.constants.Keys, llama's Q/K permutation, Gemma's norm + 1), and
reference.json: token ids and transformers' fp32 logits at every position,
plain ("logits") and with K/V rounded to fp16 inside its attention as our
KV cache stores them ("logits_kv_f16").
"""
import contextlib
import json
import math
import os
import sys

import numpy as np
import torch
import transformers
import gguf
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENS = [3, 100, 261, 17, 200, 45, 259, 80, 7, 150]  # 10 positions: past every sliding window below


def byte_token(b):
    """GPT-2 byte-to-unicode mapping."""
    def printable(c):
        return 33 <= c <= 126 or 161 <= c <= 172 or 174 <= c <= 255
    if printable(b):
        return chr(b)
    return chr(256 + sum(1 for c in range(b) if not printable(c)))


def vocab(specials, pre):
    if pre == "spm":
        toks = GEMMA_SPECIALS + [f"<0x{b:02X}>" for b in range(256)] + GEMMA_PIECES
        rank = {p: i for i, p in enumerate(GEMMA_PIECES)}
        # As transformers' SentencePieceExtractor: every pair whose concatenation is a
        # piece, ordered by that piece's score.
        merges = sorted(((a, b) for a in GEMMA_PIECES for b in GEMMA_PIECES if a + b in rank),
                        key=lambda ab: (rank[ab[0] + ab[1]], rank[ab[0]], rank[ab[1]]))
        return toks, [f"{a} {b}" for a, b in merges]
    toks = [byte_token(b) for b in range(256)]
    g = byte_token(ord(" "))
    merges = ["t h", "h e", "th e", g + " t"]
    toks += ["th", "he", "the", g + "t"]
    toks += specials
    return toks, merges


QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|"
               r"\s+(?!\S)|\s+")

# The families' chat templates (abridged from the models' tokenizer_config.json).
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
          "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
PHI3 = ("{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}"
        "{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}"
        "{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}"
        "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}")
GEMMA = ("{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}"
         "{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim "
         "+ '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}")
LLAMA3 = ("{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + "
          "message['content'] | trim + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}"
          "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")
MISTRAL = ("{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + "
           "' [/INST]' }}{% else %}{{ message['content'] + eos_token}}{% endif %}{% endfor %}")

# Gemma's SentencePiece vocabulary layout: pad, eos, bos, unk, turn markers, the 256
# byte-fallback pieces, then pieces with "▁" for spaces (scores = their order).
GEMMA_SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
GEMMA_PIECES = ["▁", "t", "h", "e", "a", "n", "d", "i", "s", "o", "r", "u", "\n",
                "th", "he", "the", "▁t", "▁the", "an", "nd", "and", "▁a", "▁and", "is", "▁is", "in", "▁th", "▁▁"]
TOKENIZE_TEXTS = ["the thing and this is a test", "  two spaces,\ttab\nnew line 123456", "ünïcode 🙂 bytes",
                  "<start_of_turn>user\nthe end<end_of_turn>\n", "<|im_start|>user\nthe end<|im_end|>\n"]

ARCHS = {
    # Qwen2: q/k/v biases, untied head, ChatML, Qwen2 pre-tokenizer.
    "qwen2": dict(cls="Qwen2", cfg=dict(rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=False),
                  specials=["<|endoftext|>", "<|im_start|>", "<|im_end|>"], bos=None, eos="<|im_end|>",
                  template=CHATML, pre="qwen2"),
    # Qwen3: per-head q/k RMSNorm, head_dim (32) decoupled from hidden / heads (16), tied head.
    "qwen3": dict(cls="Qwen3", cfg=dict(head_dim=32, rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True),
                  specials=["<|endoftext|>", "<|im_start|>", "<|im_end|>"], bos=None, eos="<|im_end|>",
                  template=CHATML, pre="qwen2"),
    # Mistral with a sliding window shorter than the reference sequence.
    "mistral": dict(cls="Mistral", cfg=dict(sliding_window=4, num_key_value_heads=1, tie_word_embeddings=False),
                    specials=["<s>", "</s>", "[INST]", "[/INST]"], bos="<s>", eos="</s>", template=MISTRAL, pre="gpt2"),
    # Llama 3.x: llama3 rope scaling (a short original context so it matters within 10
    # positions) and a tied head, as Llama 3.2 1B/3B.
    "llama3": dict(cls="Llama", cfg=dict(rope_theta=500000.0, tie_word_embeddings=True, bos_token_id=260, eos_token_id=262,
                                         rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                       "high_freq_factor": 4.0, "original_max_position_embeddings": 16}),
                   specials=["<|begin_of_text|>", "<|start_header_id|>", "<|eot_id|>", "<|end_header_id|>"],
                   bos="<|begin_of_text|>", eos="<|eot_id|>", template=LLAMA3, pre="gpt2"),
    # Phi-3: fused qkv_proj and gate_up_proj.
    "phi3": dict(cls="Phi3", cfg=dict(tie_word_embeddings=False, pad_token_id=None, bos_token_id=None, eos_token_id=None),
                 specials=["<|endoftext|>", "<|user|>", "<|assistant|>", "<|end|>"], bos=None, eos="<|end|>",
                 template=PHI3, pre="gpt2"),
    # Gemma 3 4B+ as published: the vision-language checkpoint (tiny SigLIP tower),
    # language model tensors under language_model.*, and a config whose text_config
    # lists only what differs from Gemma3TextConfig's defaults (as on the Hub).
    "gemma3_mm": dict(cls="Gemma3VLM", gguf_arch="gemma3",
                      cfg=dict(head_dim=16, query_pre_attn_scalar=16, sliding_window=4,
                               layer_types=["sliding_attention", "full_attention"], rope_theta=1000000.0,
                               rope_local_base_freq=10000.0, rope_scaling={"rope_type": "linear", "factor": 8.0},
                               rms_norm_eps=1e-6, pad_token_id=0, bos_token_id=2, eos_token_id=1),
                      hub_text_config=dict(vocab_size=290, hidden_size=64, intermediate_size=96, model_type="gemma3_text", num_hidden_layers=2,
                                           num_attention_heads=4, num_key_value_heads=2, head_dim=16, query_pre_attn_scalar=16,
                                           sliding_window=4, sliding_window_pattern=2, max_position_embeddings=256,
                                           rope_scaling={"factor": 8.0, "rope_type": "linear"}),
                      specials=GEMMA_SPECIALS, bos="<bos>", eos="<end_of_turn>", template=GEMMA, pre="spm"),
    # Phi-3 128k / 3.5: LongRoPE (short factors within the original context, cos/sin
    # scaled by sqrt(1 + ln(256/16) / ln 16)); llama.cpp keeps the factors as tensors.
    "phi3_longrope": dict(cls="Phi3", gguf_arch="phi3",
                          cfg=dict(tie_word_embeddings=False, pad_token_id=None, bos_token_id=None, eos_token_id=None,
                                   original_max_position_embeddings=16,
                                   rope_scaling={"type": "longrope",
                                                 "short_factor": [1.0, 1.05, 1.2, 1.6, 2.5, 4.0, 7.0, 12.0],
                                                 "long_factor": [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0]}),
                          specials=["<|endoftext|>", "<|user|>", "<|assistant|>", "<|end|>"], bos=None, eos="<|end|>",
                          template=PHI3, pre="gpt2"),
    # Gemma 2: scaled embeddings, (1 + w) norms, sandwich norms, GeGLU, soft-capping
    # (small caps so they matter at these logit sizes), sliding window on even layers.
    "gemma2": dict(cls="Gemma2", cfg=dict(head_dim=16, query_pre_attn_scalar=16, sliding_window=4, attn_logit_softcapping=2.0,
                                          final_logit_softcapping=6.0, rms_norm_eps=1e-6, pad_token_id=0, bos_token_id=2,
                                          eos_token_id=1),
                   specials=GEMMA_SPECIALS, bos="<bos>", eos="<end_of_turn>", template=GEMMA, pre="spm"),
    # Gemma 3 (text): as Gemma 2 without soft-capping, with q/k norms, local layers at their
    # own rope theta, linear rope scaling on the global ones; pattern local, global.
    "gemma3": dict(cls="Gemma3", cfg=dict(head_dim=16, query_pre_attn_scalar=16, sliding_window=4,
                                          layer_types=["sliding_attention", "full_attention"], rope_theta=1000000.0,
                                          rope_local_base_freq=10000.0, rope_scaling={"rope_type": "linear", "factor": 8.0},
                                          rms_norm_eps=1e-6, pad_token_id=0, bos_token_id=2, eos_token_id=1),
                   specials=GEMMA_SPECIALS, bos="<bos>", eos="<end_of_turn>", template=GEMMA, pre="spm"),
}


def make_config(name, spec, n_vocab):
    base = dict(vocab_size=n_vocab, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, max_position_embeddings=256)
    base.update(spec["cfg"])
    if spec["cls"] == "Gemma3":
        cfg = transformers.Gemma3TextConfig(**base)
    elif spec["cls"] == "Gemma3VLM":
        vision = transformers.SiglipVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                                 num_attention_heads=2, image_size=28, patch_size=14)
        cfg = transformers.Gemma3Config(text_config=transformers.Gemma3TextConfig(**base), vision_config=vision,
                                        mm_tokens_per_image=4, boi_token_index=n_vocab - 3, eoi_token_index=n_vocab - 2,
                                        image_token_index=n_vocab - 1)
        cfg.text_config._attn_implementation = "eager"
    else:
        cfg = getattr(transformers, spec["cls"] + "Config")(**base)
    cfg._attn_implementation = "eager"
    return cfg


def randomize(model, gemma):
    g = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.ndim == 2:
                p.copy_(torch.randn(p.shape, generator=g) * (0.5 / p.shape[1] ** 0.5 * 4))
            elif n.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            else:  # norm weights: around 1 (Gemma keeps w with the norm scaling by 1 + w)
                p.copy_(torch.randn(p.shape, generator=g) * 0.2 + (0.0 if gemma else 1.0))


@contextlib.contextmanager
def kv_rounded_to_f16(model):
    """transformers' own eager attention, with K and V rounded to fp16 as the
    engine's KV cache stores them: the engine should match this to fp32 rounding."""
    mod = sys.modules[type(model).__module__]
    orig = mod.eager_attention_forward

    def rounded(module, query, key, value, *args, **kwargs):
        return orig(module, query, key.half().float(), value.half().float(), *args, **kwargs)

    mod.eager_attention_forward = rounded
    try:
        yield
    finally:
        mod.eager_attention_forward = orig


def spm_tokenizer_files(out, toks, merges, spec):
    """Gemma's tokenizer.json, as transformers' GemmaConverter builds it."""
    from tokenizers import Tokenizer, AddedToken, decoders, normalizers, pre_tokenizers
    from tokenizers.models import BPE
    vocab_map = {t: i for i, t in enumerate(toks)}
    bpe = BPE(vocab=vocab_map, merges=[tuple(m.split(" ")) for m in merges], unk_token="<unk>", byte_fallback=True,
              fuse_unk=True, dropout=None)
    tk = Tokenizer(bpe)
    tk.normalizer = normalizers.Replace(" ", "▁")
    tk.pre_tokenizer = pre_tokenizers.Split(" ", "merged_with_previous")
    tk.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    tk.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in GEMMA_SPECIALS])
    tk.save(os.path.join(out, "tokenizer.json"))
    tcfg = {"add_bos_token": True, "add_eos_token": False, "bos_token": "<bos>", "eos_token": "<eos>",
            "pad_token": "<pad>", "unk_token": "<unk>", "chat_template": spec["template"]}
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(tcfg, f, ensure_ascii=False, indent=1)


def tokenizer_files(out, toks, merges, spec):
    if spec["pre"] == "spm":
        return spm_tokenizer_files(out, toks, merges, spec)
    n_plain = 260
    vocab_map = {t: i for i, t in enumerate(toks)}
    added = [dict(id=i, content=toks[i], single_word=False, lstrip=False, rstrip=False, normalized=False, special=True)
             for i in range(n_plain, len(toks))]
    if spec["pre"] == "qwen2":
        pre = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_REGEX}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}
    else:
        pre = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
           "pre_tokenizer": pre, "post_processor": None,
           "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
           "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                     "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "vocab": vocab_map,
                     "merges": merges}}
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tok, f, ensure_ascii=False)
    tcfg = {"add_bos_token": spec["bos"] is not None, "bos_token": spec["bos"], "eos_token": spec["eos"],
            "chat_template": spec["template"]}
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(tcfg, f, ensure_ascii=False, indent=1)


def permute(w, n_head, n_head_kv):
    """convert_hf_to_gguf.py LlamaModel.permute: rotate-half rows -> interleaved pairs."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape))


def write_gguf(path, name, spec, cfg, state, toks, merges):
    gguf_arch = spec.get("gguf_arch") or ("llama" if name in ("mistral", "llama3") else name)
    arch_enum = {"llama": gguf.MODEL_ARCH.LLAMA, "qwen2": gguf.MODEL_ARCH.QWEN2, "qwen3": gguf.MODEL_ARCH.QWEN3,
                 "phi3": gguf.MODEL_ARCH.PHI3, "gemma2": gguf.MODEL_ARCH.GEMMA2, "gemma3": gguf.MODEL_ARCH.GEMMA3}[gguf_arch]
    tmap = gguf.get_tensor_name_map(arch_enum, cfg.num_hidden_layers)
    w = gguf.GGUFWriter(path, gguf_arch)
    w.add_name("tiny-" + name)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_rope_dimension_count(head_dim)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    rope_theta = getattr(cfg, "rope_theta", None)
    if rope_theta is None:  # transformers 5 keeps it in rope_parameters
        rp = getattr(cfg, "rope_parameters", None) or {}
        rp = rp.get("full_attention", rp)
        rope_theta = rp.get("rope_theta", 10000.0)
    w.add_rope_freq_base(float(rope_theta))
    if getattr(cfg, "sliding_window", None) and gguf_arch in ("llama", "gemma2", "gemma3", "phi3"):
        w.add_sliding_window(cfg.sliding_window)
    if name == "gemma2":
        w.add_attn_logit_softcapping(cfg.attn_logit_softcapping)
        w.add_final_logit_softcapping(cfg.final_logit_softcapping)
    if gguf_arch == "gemma3":
        # The period (gemma3) or, as newer converters write it, one bool per layer (gemma3_mm).
        w.add_sliding_window_pattern([True, False] if name == "gemma3_mm" else 2)
        w.add_float32(gguf.Keys.Rope.FREQ_BASE_SWA.format(arch=gguf_arch), 10000.0)
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(8.0)
    if spec["pre"] == "spm":  # as convert_hf_to_gguf.py writes Gemma's SentencePiece vocabulary
        w.add_tokenizer_model("llama")
        w.add_tokenizer_pre("default")
        w.add_token_list(toks)
        n_sp = len(GEMMA_SPECIALS)
        w.add_token_scores([0.0] * (n_sp + 256) + [-float(i) for i in range(len(GEMMA_PIECES))])
        types = [3] * n_sp + [6] * 256 + [1] * len(GEMMA_PIECES)
        types[GEMMA_SPECIALS.index("<unk>")] = 2
        w.add_token_types(types)
        w.add_add_space_prefix(False)
        w.add_add_bos_token(True)
        w.add_unk_token_id(GEMMA_SPECIALS.index("<unk>"))
        w.add_pad_token_id(GEMMA_SPECIALS.index("<pad>"))
    else:
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(spec["pre"] if spec["pre"] == "qwen2" else "default")
        w.add_token_list(toks)
        w.add_token_types([1] * 260 + [3] * (len(toks) - 260))
        w.add_token_merges(merges)
    if spec["bos"]:
        w.add_bos_token_id(toks.index(spec["bos"]))
    w.add_eos_token_id(toks.index(spec["eos"]))
    w.add_chat_template(spec["template"])
    if name == "phi3_longrope":  # convert_hf_to_gguf.py Phi3MiniModel
        rs = spec["cfg"]["rope_scaling"]
        orig = spec["cfg"]["original_max_position_embeddings"]
        scale = cfg.max_position_embeddings / orig
        w.add_rope_scaling_orig_ctx_len(orig)
        w.add_rope_scaling_attn_factors(math.sqrt(1 + math.log(scale) / math.log(orig)) if scale > 1.0 else 1.0)
        w.add_tensor(gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ROPE_FACTORS_LONG] + ".weight", np.array(rs["long_factor"], dtype=np.float32))
        w.add_tensor(gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ROPE_FACTORS_SHORT] + ".weight", np.array(rs["short_factor"], dtype=np.float32))
    if name == "llama3":  # convert_hf_to_gguf.py LlamaModel: the scaled frequencies as divisors
        rs = spec["cfg"]["rope_scaling"]
        factor, low, high, old_ctx = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
        freqs = 1.0 / (rope_theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
        low_wl, high_wl = old_ctx / low, old_ctx / high
        div = []
        for f in freqs:
            wl = 2 * np.pi / f
            if wl < high_wl:
                div.append(1.0)
            elif wl > low_wl:
                div.append(factor)
            else:
                smooth = (old_ctx / wl - low) / (high - low)
                div.append(1 / ((1 - smooth) / factor + smooth))
        w.add_tensor(gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ROPE_FREQS] + ".weight", np.array(div, dtype=np.float32))
    for hf_name, t in state.items():
        data = t.detach().to(torch.float32).numpy().copy()
        if gguf_arch == "llama" and hf_name.endswith("q_proj.weight"):
            data = permute(data, cfg.num_attention_heads, cfg.num_attention_heads)
        if gguf_arch == "llama" and hf_name.endswith("k_proj.weight"):
            data = permute(data, cfg.num_attention_heads, cfg.num_key_value_heads)
        if name.startswith("gemma") and hf_name.endswith("norm.weight"):
            data = data + 1  # as Gemma's converter does
        gname = tmap.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gname is None:
            sys.exit(f"{name}: no GGUF name for {hf_name}")
        w.add_tensor(gname, data.astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    only = sys.argv[1:]
    for name, spec in ARCHS.items():
        if only and name not in only:
            continue
        out = os.path.join(HERE, name)
        os.makedirs(out, exist_ok=True)
        toks, merges = vocab(spec["specials"], spec["pre"])
        cfg = make_config(name, spec, len(toks))
        torch.manual_seed(0)
        if spec["cls"] == "Gemma3VLM":
            model = transformers.Gemma3ForConditionalGeneration._from_config(cfg, attn_implementation="eager",
                                                                              dtype=torch.float32)
        else:
            model = transformers.AutoModelForCausalLM.from_config(cfg, attn_implementation="eager", dtype=torch.float32)
        model.eval()
        randomize(model, name.startswith("gemma"))
        if cfg.tie_word_embeddings:
            model.tie_weights()
        model.save_pretrained(out, safe_serialization=True)
        with torch.no_grad():
            logits = model(torch.tensor([TOKENS])).logits[0].to(torch.float64).numpy()
            with kv_rounded_to_f16(model):
                logits_f16 = model(torch.tensor([TOKENS])).logits[0].to(torch.float64).numpy()
        # Keep just the files the engine reads (and the config), nothing else transformers adds.
        for f in os.listdir(out):
            if f not in ("config.json", "model.safetensors"):
                os.remove(os.path.join(out, f))
        tokenizer_files(out, toks, merges, spec)
        if "hub_text_config" in spec:  # the published form of a vision-language config
            with open(os.path.join(out, "config.json")) as f:
                full = json.load(f)
            full["text_config"] = spec["hub_text_config"]
            full.pop("dtype", None)
            with open(os.path.join(out, "config.json"), "w") as f:
                json.dump(full, f, indent=2)
        from tokenizers import Tokenizer
        hf_tok = Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
        tokenized = [{"text": t, "ids": hf_tok.encode(t, add_special_tokens=False).ids} for t in TOKENIZE_TEXTS]
        state = {k: v for k, v in model.state_dict().items()}
        if spec["cls"] == "Gemma3VLM":  # llama.cpp's GGUF holds the language model (the vision tower goes to mmproj)
            state = {k[len("language_model."):]: v for k, v in state.items() if k.startswith("language_model.")}
            if not state:
                state = {("model." + k[len("model.language_model."):]): v for k, v in model.state_dict().items()
                         if k.startswith("model.language_model.")}
            cfg = cfg.text_config
        if cfg.tie_word_embeddings:
            state.pop("lm_head.weight", None)
        write_gguf(os.path.join(HERE, name + ".gguf"), name, spec, cfg, state, toks, merges)
        ref = {"arch": name, "tokens": TOKENS, "n_vocab": len(toks),
               "transformers": transformers.__version__, "torch": torch.__version__,
               "logits": [[float(f"{x:.8g}") for x in row] for row in logits],
               "logits_kv_f16": [[float(f"{x:.8g}") for x in row] for row in logits_f16]}
        ref["tokenize"] = tokenized  # ids from Hugging Face tokenizers, special tokens parsed, no BOS
        with open(os.path.join(out, "reference.json"), "w") as f:
            json.dump(ref, f)
        print(f"{name}: logits range [{logits.min():.3f}, {logits.max():.3f}], "
              f"{sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out)) // 1024} KB")


if __name__ == "__main__":
    main()
