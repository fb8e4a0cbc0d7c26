// A tiny random-weight Llama model written through the same file formats
// real models use (GGUF with the converter's Q/K permutation, and a Hugging
// Face folder), plus a plain scalar reference forward pass to check against.
#pragma once
#include "gguf.h"
#include "half.h"
#include "safetensors.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace aptest {

struct TinyModel {
    int n_layer = 2, n_embd = 64, n_head = 4, n_head_kv = 2, head_dim = 16, n_ff = 96;
    float rms_eps = 1e-5f, rope_theta = 10000.f;
    bool tied = false;
    // vocabulary: 256 byte tokens, a few merges, then specials
    std::vector<std::string> tokens;
    std::vector<std::string> merges;
    std::map<std::string, std::vector<float>> w;  // HF name -> row-major fp32
    std::map<std::string, std::vector<int64_t>> shape;
    int n_vocab() const { return int(tokens.size()); }
    int bos() const { return n_vocab() - 3; }
    int im_start() const { return n_vocab() - 2; }
    int im_end() const { return n_vocab() - 1; }
};

// GPT-2 byte-to-unicode mapping (printable bytes map to themselves).
inline std::string byte_token(int b) {
    auto printable = [](int c) { return (c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255); };
    int cp = b;
    if (!printable(b)) {
        int n = 0;
        for (int c = 0; c < b; ++c)
            if (!printable(c)) ++n;
        cp = 256 + n;
    }
    std::string s;
    if (cp < 0x80) s += char(cp);
    else if (cp < 0x800) { s += char(0xC0 | (cp >> 6)); s += char(0x80 | (cp & 0x3F)); }
    return s;
}

// Shapes default to the small round ones above; pass others (e.g. widths that
// are not multiples of 32) to exercise kernel edge cases.
inline TinyModel make_tiny_model(unsigned seed = 7, bool tied = false, int n_embd = 64, int n_head = 4, int n_head_kv = 2,
                                 int n_ff = 96) {
    TinyModel m;
    m.tied = tied;
    m.n_embd = n_embd;
    m.n_head = n_head;
    m.n_head_kv = n_head_kv;
    m.head_dim = n_embd / n_head;
    m.n_ff = n_ff;
    for (int b = 0; b < 256; ++b) m.tokens.push_back(byte_token(b));
    // A few merges so BPE actually merges something: "th", "he", "the", "Ġt"
    const std::string G = byte_token(' ');
    m.merges = {"t h", "h e", "th e", G + " t"};
    m.tokens.push_back("th");
    m.tokens.push_back("he");
    m.tokens.push_back("the");
    m.tokens.push_back(G + "t");
    m.tokens.push_back("<|endoftext|>");
    m.tokens.push_back("<|im_start|>");
    m.tokens.push_back("<|im_end|>");
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.f, 1.f);
    auto add = [&](const std::string& name, std::vector<int64_t> sh, float scale, float bias = 0.f) {
        size_t n = 1;
        for (auto d : sh) n *= size_t(d);
        std::vector<float> v(n);
        for (auto& x : v) x = bias + scale * nd(rng);
        m.w[name] = v;
        m.shape[name] = sh;
    };
    const int E = m.n_embd, Q = m.n_head * m.head_dim, KV = m.n_head_kv * m.head_dim, F = m.n_ff, V = m.n_vocab();
    add("model.embed_tokens.weight", {V, E}, 1.0f);
    add("model.norm.weight", {E}, 0.1f, 1.f);
    if (!tied) add("lm_head.weight", {V, E}, 1.f / std::sqrt(float(E)));
    for (int l = 0; l < m.n_layer; ++l) {
        auto n = [&](const char* what) { return "model.layers." + std::to_string(l) + "." + what + ".weight"; };
        add(n("input_layernorm"), {E}, 0.1f, 1.f);
        add(n("post_attention_layernorm"), {E}, 0.1f, 1.f);
        add(n("self_attn.q_proj"), {Q, E}, 1.f / std::sqrt(float(E)));
        add(n("self_attn.k_proj"), {KV, E}, 1.f / std::sqrt(float(E)));
        add(n("self_attn.v_proj"), {KV, E}, 1.f / std::sqrt(float(E)));
        add(n("self_attn.o_proj"), {E, Q}, 1.f / std::sqrt(float(Q)));
        add(n("mlp.gate_proj"), {F, E}, 1.f / std::sqrt(float(E)));
        add(n("mlp.up_proj"), {F, E}, 1.f / std::sqrt(float(E)));
        add(n("mlp.down_proj"), {E, F}, 1.f / std::sqrt(float(F)));
    }
    return m;
}

inline std::string gguf_name(const std::string& hf) {
    if (hf == "model.embed_tokens.weight") return "token_embd.weight";
    if (hf == "model.norm.weight") return "output_norm.weight";
    if (hf == "lm_head.weight") return "output.weight";
    static const std::pair<const char*, const char*> parts[] = {
        {"input_layernorm", "attn_norm"}, {"post_attention_layernorm", "ffn_norm"}, {"self_attn.q_proj", "attn_q"},
        {"self_attn.k_proj", "attn_k"},   {"self_attn.v_proj", "attn_v"},           {"self_attn.o_proj", "attn_output"},
        {"mlp.gate_proj", "ffn_gate"},    {"mlp.up_proj", "ffn_up"},                {"mlp.down_proj", "ffn_down"}};
    size_t a = std::string("model.layers.").size(), dot = hf.find('.', a);
    std::string idx = hf.substr(a, dot - a), part = hf.substr(dot + 1, hf.size() - dot - 1 - 7);
    for (auto& [h, g] : parts)
        if (part == h) return "blk." + idx + "." + g + ".weight";
    return hf;
}

// The llama.cpp converter's permutation: rotate-half rows -> interleaved pairs.
inline std::vector<float> permute_for_gguf(const std::vector<float>& w, int heads, int hd, int cols) {
    std::vector<float> out(w.size());
    const int half = hd / 2;
    for (int h = 0; h < heads; ++h)
        for (int s = 0; s < 2; ++s)
            for (int j = 0; j < half; ++j)
                for (int c = 0; c < cols; ++c)
                    out[(size_t(h) * hd + 2 * j + s) * cols + c] = w[(size_t(h) * hd + s * half + j) * cols + c];
    return out;
}

// A GGUF writer holding the tiny model's metadata and tokenizer, no tensors yet.
inline ap::GgufWriter tiny_gguf_metadata(const TinyModel& m, const std::string& arch = "llama") {
    ap::GgufWriter g;
    g.set_string("general.architecture", arch);
    g.set_string("general.name", "tiny-test");
    g.set_u32(arch + ".block_count", m.n_layer);
    g.set_u32(arch + ".embedding_length", m.n_embd);
    g.set_u32(arch + ".feed_forward_length", m.n_ff);
    g.set_u32(arch + ".attention.head_count", m.n_head);
    g.set_u32(arch + ".attention.head_count_kv", m.n_head_kv);
    g.set_u32(arch + ".context_length", 256);
    g.set_u32(arch + ".rope.dimension_count", m.head_dim);
    g.set_f32(arch + ".rope.freq_base", m.rope_theta);
    g.set_f32(arch + ".attention.layer_norm_rms_epsilon", m.rms_eps);
    g.set_string("tokenizer.ggml.model", "gpt2");
    g.set_string("tokenizer.ggml.pre", "gpt-2");
    g.set_string_array("tokenizer.ggml.tokens", m.tokens);
    std::vector<int32_t> types(m.tokens.size(), 1);
    for (int i = m.bos(); i < m.n_vocab(); ++i) types[i] = 3;
    g.set_i32_array("tokenizer.ggml.token_type", types);
    g.set_string_array("tokenizer.ggml.merges", m.merges);
    g.set_u32("tokenizer.ggml.bos_token_id", m.bos());
    g.set_u32("tokenizer.ggml.eos_token_id", m.im_end());
    g.set_string("tokenizer.chat_template", "{% for m in messages %}<|im_start|>{{m.role}}\n{{m.content}}<|im_end|>\n{% endfor %}");
    return g;
}

// type: the GGUF type for 2-D weights (norms stay F32).
inline void write_tiny_gguf(const TinyModel& m, const std::string& path, ap::GgmlType type = ap::GgmlType::F32,
                            const std::string& arch = "llama") {
    ap::GgufWriter g = tiny_gguf_metadata(m, arch);
    for (const auto& [name, data] : m.w) {
        const auto& sh = m.shape.at(name);
        std::vector<float> d = data;
        if (name.find("q_proj") != std::string::npos) d = permute_for_gguf(d, m.n_head, m.head_dim, int(sh[1]));
        if (name.find("k_proj") != std::string::npos) d = permute_for_gguf(d, m.n_head_kv, m.head_dim, int(sh[1]));
        std::vector<int64_t> gs(sh.rbegin(), sh.rend());
        g.add_tensor(gguf_name(name), sh.size() == 1 ? ap::GgmlType::F32 : type, gs, d.data());
    }
    g.write(path);
}

inline void write_text(const std::string& path, const std::string& s) {
    std::ofstream(path, std::ios::binary) << s;
}

// dtype: how 2-D weights are stored (F32, F16 or BF16; norms stay F32).
inline void write_tiny_hf(const TinyModel& m, const std::string& dir, ap::StDType dtype = ap::StDType::F32) {
    std::filesystem::create_directories(dir);
    nlohmann::json cfg = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"},
                          {"num_hidden_layers", m.n_layer},       {"hidden_size", m.n_embd},
                          {"intermediate_size", m.n_ff},          {"num_attention_heads", m.n_head},
                          {"num_key_value_heads", m.n_head_kv},   {"vocab_size", m.n_vocab()},
                          {"max_position_embeddings", 256},       {"rms_norm_eps", m.rms_eps},
                          {"rope_theta", m.rope_theta},           {"tie_word_embeddings", m.tied}};
    write_text(dir + "/config.json", cfg.dump(2));
    nlohmann::json vocab = nlohmann::json::object();
    for (int i = 0; i < m.bos(); ++i) vocab[m.tokens[i]] = i;
    nlohmann::json added = nlohmann::json::array();
    for (int i = m.bos(); i < m.n_vocab(); ++i) {
        vocab[m.tokens[i]] = i;
        added.push_back({{"id", i}, {"content", m.tokens[i]}, {"special", true}, {"single_word", false},
                         {"lstrip", false}, {"rstrip", false}, {"normalized", false}});
    }
    nlohmann::json tok = {
        {"version", "1.0"},
        {"added_tokens", added},
        {"normalizer", nullptr},
        {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
        {"decoder", {{"type", "ByteLevel"}}},
        {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", m.merges}, {"byte_fallback", false}}}};
    write_text(dir + "/tokenizer.json", tok.dump());
    nlohmann::json tcfg = {{"add_bos_token", false},
                           {"bos_token", "<|endoftext|>"},
                           {"eos_token", "<|im_end|>"},
                           {"chat_template", "{% for m in messages %}<|im_start|>{{m.role}}\n{{m.content}}<|im_end|>\n{% endfor %}"}};
    write_text(dir + "/tokenizer_config.json", tcfg.dump());
    ap::SafetensorsWriter st;
    std::vector<std::vector<uint16_t>> keep;  // 16-bit copies live until write()
    for (const auto& [name, data] : m.w) {
        const auto& sh = m.shape.at(name);
        if (dtype == ap::StDType::F32 || sh.size() != 2) {
            st.add_f32(name, sh, data.data());
            continue;
        }
        std::vector<uint16_t> h(data.size());
        for (size_t i = 0; i < h.size(); ++i) h[i] = dtype == ap::StDType::F16 ? ap::f32_to_f16(data[i]) : ap::f32_to_bf16(data[i]);
        keep.push_back(std::move(h));
        st.add(name, dtype, sh, keep.back().data(), keep.back().size() * 2);
    }
    st.write(dir + "/model.safetensors");
}

// Plain reference forward over a whole sequence (no cache; K and V rounded
// to fp16 as the engine stores them): logits [n][V].
inline std::vector<float> reference_logits(const TinyModel& m, const std::vector<int32_t>& toks) {
    const int E = m.n_embd, H = m.n_head, KVH = m.n_head_kv, hd = m.head_dim, F = m.n_ff, V = m.n_vocab(), n = int(toks.size());
    const int Q = H * hd, KV = KVH * hd;
    auto W = [&](const std::string& s) -> const std::vector<float>& { return m.w.at(s); };
    auto lin = [&](const std::vector<float>& w, int rows, int cols, const std::vector<float>& x) {
        std::vector<float> y(size_t(n) * rows);
        for (int t = 0; t < n; ++t)
            for (int r = 0; r < rows; ++r) {
                double s = 0;
                for (int c = 0; c < cols; ++c) s += double(w[size_t(r) * cols + c]) * x[size_t(t) * cols + c];
                y[size_t(t) * rows + r] = float(s);
            }
        return y;
    };
    auto norm = [&](const std::vector<float>& x, const std::vector<float>& g) {
        std::vector<float> y(x.size());
        for (int t = 0; t < n; ++t) {
            double ss = 0;
            for (int i = 0; i < E; ++i) ss += double(x[size_t(t) * E + i]) * x[size_t(t) * E + i];
            double r = 1.0 / std::sqrt(ss / E + m.rms_eps);
            for (int i = 0; i < E; ++i) y[size_t(t) * E + i] = float(x[size_t(t) * E + i] * r * g[i]);
        }
        return y;
    };
    auto rope = [&](std::vector<float>& v, int heads) {
        for (int t = 0; t < n; ++t)
            for (int h = 0; h < heads; ++h) {
                float* p = &v[size_t(t) * heads * hd + h * hd];
                for (int i = 0; i < hd / 2; ++i) {
                    double f = std::pow(double(m.rope_theta), -2.0 * i / hd), a = t * f;
                    double x0 = p[i], x1 = p[i + hd / 2];
                    p[i] = float(x0 * std::cos(a) - x1 * std::sin(a));
                    p[i + hd / 2] = float(x0 * std::sin(a) + x1 * std::cos(a));
                }
            }
    };
    std::vector<float> x(size_t(n) * E);
    for (int t = 0; t < n; ++t)
        for (int i = 0; i < E; ++i) x[size_t(t) * E + i] = W("model.embed_tokens.weight")[size_t(toks[t]) * E + i];
    for (int l = 0; l < m.n_layer; ++l) {
        auto nm = [&](const char* what) { return "model.layers." + std::to_string(l) + "." + what + ".weight"; };
        auto xn = norm(x, W(nm("input_layernorm")));
        auto q = lin(W(nm("self_attn.q_proj")), Q, E, xn);
        auto k = lin(W(nm("self_attn.k_proj")), KV, E, xn);
        auto v = lin(W(nm("self_attn.v_proj")), KV, E, xn);
        rope(q, H);
        rope(k, KVH);
        // The engine keeps K and V in an fp16 cache: round them the same way.
        for (auto* kv : {&k, &v})
            for (auto& e : *kv) e = ap::kern::half_to_float(ap::kern::float_to_half(e));
        std::vector<float> att(size_t(n) * Q);
        for (int t = 0; t < n; ++t)
            for (int h = 0; h < H; ++h) {
                int kh = h / (H / KVH);
                std::vector<double> sc(t + 1);
                double mx = -1e300;
                for (int j = 0; j <= t; ++j) {
                    double s = 0;
                    for (int i = 0; i < hd; ++i) s += double(q[size_t(t) * Q + h * hd + i]) * k[size_t(j) * KV + kh * hd + i];
                    sc[j] = s / std::sqrt(double(hd));
                    mx = std::max(mx, sc[j]);
                }
                double sum = 0;
                for (auto& s : sc) sum += (s = std::exp(s - mx));
                for (int i = 0; i < hd; ++i) {
                    double o = 0;
                    for (int j = 0; j <= t; ++j) o += sc[j] / sum * v[size_t(j) * KV + kh * hd + i];
                    att[size_t(t) * Q + h * hd + i] = float(o);
                }
            }
        auto o = lin(W(nm("self_attn.o_proj")), E, Q, att);
        for (size_t i = 0; i < x.size(); ++i) x[i] += o[i];
        xn = norm(x, W(nm("post_attention_layernorm")));
        auto g = lin(W(nm("mlp.gate_proj")), F, E, xn);
        auto u = lin(W(nm("mlp.up_proj")), F, E, xn);
        for (size_t i = 0; i < g.size(); ++i) g[i] = float(g[i] / (1.0 + std::exp(-double(g[i]))) * u[i]);
        auto d = lin(W(nm("mlp.down_proj")), E, F, g);
        for (size_t i = 0; i < x.size(); ++i) x[i] += d[i];
    }
    auto xf = norm(x, W("model.norm.weight"));
    return lin(m.tied ? W("model.embed_tokens.weight") : W("lm_head.weight"), V, E, xf);
}

}  // namespace aptest
