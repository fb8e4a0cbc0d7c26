#include "model_assembly.h"

#include "archs.h"
#include "error.h"

#include <initializer_list>

namespace ap {

std::string layer_tensor_name(int layer, const char* what) {
    return "model.layers." + std::to_string(layer) + "." + what + ".weight";
}

std::string shape_string(const std::vector<int64_t>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
}

void report_progress(const ProgressFn& p, double fraction, const std::string& stage, const std::string& path) {
    if (p && !p(fraction, stage)) throw file_error(path, "loading cancelled");
}

static Linear make_linear(const std::string& name, int rows, int cols, const MatrixFetch& fetch) {
    Linear l;
    l.name = name;
    l.rows = rows;
    l.cols = cols;
    fetch(name, {rows, cols}, l);
    return l;
}

namespace {
struct RowBlock {
    Linear* out;
    const char* part;  // canonical name of the piece, e.g. "self_attn.q_proj"
    int rows;
};
}  // namespace

// One fused matrix [sum rows, cols] -> consecutive row blocks under their own names.
static void split_rows(const std::string& fused, int cols, const MatrixFetch& fetch, std::initializer_list<RowBlock> blocks,
                       int layer) {
    int64_t total = 0;
    for (const RowBlock& b : blocks) total += b.rows;
    Linear w;
    fetch(fused, {total, cols}, w);
    size_t off = 0;
    for (const RowBlock& b : blocks) {
        Linear& l = *b.out;
        l.name = layer_tensor_name(layer, b.part);
        l.rows = b.rows;
        l.cols = cols;
        l.dtype = w.dtype;
        const size_t n = size_t(b.rows) * size_t(cols);
        if (!w.dense.empty()) l.dense.assign(w.dense.begin() + off, w.dense.begin() + off + n);
        if (!w.dense16.empty()) l.dense16.assign(w.dense16.begin() + off, w.dense16.begin() + off + n);
        off += n;
    }
}

void assemble_dense_model(Model& m, const TensorFetch& fetch, const TensorProbe& has, const ProgressFn& progress,
                          const MatrixFetch& matrix) {
    const ModelConfig& c = m.cfg;
    const MatrixFetch mat = matrix ? matrix : MatrixFetch([&](const std::string& n, const std::vector<int64_t>& shape, Linear& l) {
        l.dense = fetch(n, shape);
    });
    const int E = c.n_embd, Q = c.n_head * c.head_dim, KV = c.n_head_kv * c.head_dim, F = c.n_ff;
    m.embed = make_linear("model.embed_tokens.weight", c.n_vocab, E, mat);
    m.final_norm = fetch("model.norm.weight", {E});
    m.layers.resize(c.n_layer);
    for (int i = 0; i < c.n_layer; ++i) {
        report_progress(progress, double(i) / (c.n_layer + 1), "loading layer " + std::to_string(i), m.path);
        LayerWeights& L = m.layers[i];
        L.attn_norm = fetch(layer_tensor_name(i, "input_layernorm"), {E});
        L.mlp_norm = fetch(layer_tensor_name(i, "post_attention_layernorm"), {E});
        // Fused sources (phi3) are split into the separate projections, row
        // blocks in order, so everything downstream sees one layout.
        const std::string qkv = layer_tensor_name(i, "self_attn.qkv_proj");
        if (!has(layer_tensor_name(i, "self_attn.q_proj")) && has(qkv)) {
            split_rows(qkv, E, mat, {{&L.wq, "self_attn.q_proj", Q}, {&L.wk, "self_attn.k_proj", KV}, {&L.wv, "self_attn.v_proj", KV}}, i);
        } else {
            L.wq = make_linear(layer_tensor_name(i, "self_attn.q_proj"), Q, E, mat);
            L.wk = make_linear(layer_tensor_name(i, "self_attn.k_proj"), KV, E, mat);
            L.wv = make_linear(layer_tensor_name(i, "self_attn.v_proj"), KV, E, mat);
        }
        L.wo = make_linear(layer_tensor_name(i, "self_attn.o_proj"), E, Q, mat);
        const std::string gate_up = layer_tensor_name(i, "mlp.gate_up_proj");
        if (!has(layer_tensor_name(i, "mlp.gate_proj")) && has(gate_up)) {
            split_rows(gate_up, E, mat, {{&L.w_gate, "mlp.gate_proj", F}, {&L.w_up, "mlp.up_proj", F}}, i);
        } else {
            L.w_gate = make_linear(layer_tensor_name(i, "mlp.gate_proj"), F, E, mat);
            L.w_up = make_linear(layer_tensor_name(i, "mlp.up_proj"), F, E, mat);
        }
        L.w_down = make_linear(layer_tensor_name(i, "mlp.down_proj"), E, F, mat);
        const std::string pre = "model.layers." + std::to_string(i) + ".";
        if (c.attn_bias) {
            L.q_bias = fetch(pre + "self_attn.q_proj.bias", {Q});
            L.k_bias = fetch(pre + "self_attn.k_proj.bias", {KV});
            L.v_bias = fetch(pre + "self_attn.v_proj.bias", {KV});
        }
        if (c.qk_norm) {
            L.q_norm = fetch(layer_tensor_name(i, "self_attn.q_norm"), {c.head_dim});
            L.k_norm = fetch(layer_tensor_name(i, "self_attn.k_norm"), {c.head_dim});
        }
        if (c.sandwich_norms) {
            L.post_attn_norm = fetch(layer_tensor_name(i, "post_attn_out_norm"), {E});
            L.post_mlp_norm = fetch(layer_tensor_name(i, "post_feedforward_layernorm"), {E});
        }
    }
    if (!c.tied_embeddings && has("lm_head.weight")) {
        m.head = make_linear("lm_head.weight", c.n_vocab, E, mat);
    } else {
        // Tied: the head is the embedding matrix; share the storage, keep it once.
        m.cfg.tied_embeddings = true;
        m.head.name = m.embed.name;
        m.head.rows = m.embed.rows;
        m.head.cols = m.embed.cols;
    }
    m.rope_inv_freq = rope_inv_freq_ext(m.cfg);
    m.rope_inv_freq_local = rope_inv_freq_local(m.cfg);
    report_progress(progress, 1.0, "loaded", m.path);
}

}  // namespace ap
