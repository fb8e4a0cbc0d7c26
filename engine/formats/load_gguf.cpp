// GGUF -> Model: maps llama.cpp tensor names to Hugging Face names and undoes
// the converter's Q/K row permutation so one forward pass serves both sources.
#include "archs.h"
#include "error.h"
#include "gguf.h"
#include "half.h"
#include "model_assembly.h"
#include "model_loaders.h"

#include <cstring>

namespace ap {

static std::string gguf_name_for(const std::string& hf) { return gguf_tensor_name(hf); }

// The llama.cpp converter reorders each head's rows from rotate-half order
// (i, i + d/2) to interleaved pairs (2i, 2i + 1); put them back.
template <typename T>
static void unpermute_heads(std::vector<T>& w, int n_heads, int head_dim, int cols) {
    std::vector<T> out(w.size());
    const int half = head_dim / 2;
    for (int h = 0; h < n_heads; ++h)
        for (int s = 0; s < 2; ++s)
            for (int j = 0; j < half; ++j) {
                const T* src = &w[(size_t(h) * head_dim + 2 * j + s) * cols];
                T* dst = &out[(size_t(h) * head_dim + s * half + j) * cols];
                std::memcpy(dst, src, sizeof(T) * cols);
            }
    w.swap(out);
}

static ModelConfig gguf_config(const GgufFile& f) {
    ModelConfig c;
    const std::string arch = f.get_string("general.architecture");
    if (arch.empty()) throw file_error(f.path(), "missing general.architecture");
    const std::string ours = arch_from_gguf(arch);
    if (ours.empty())
        throw file_error(f.path(), unsupported_arch_message(arch));
    auto key = [&](const char* k) { return arch + "." + k; };
    auto need = [&](const char* k) {
        if (!f.find(key(k))) throw file_error(f.path(), "missing metadata key " + key(k));
        return config_int(f.get_int(key(k), 0), key(k).c_str(), f.path());
    };
    auto opt = [&](const char* k, int64_t def) { return config_int(f.get_int(key(k), def), key(k).c_str(), f.path()); };
    c.arch = ours;
    c.name = f.get_string("general.name");
    c.n_layer = need("block_count");
    c.n_embd = need("embedding_length");
    c.n_ff = need("feed_forward_length");
    c.n_head = need("attention.head_count");
    c.n_head_kv = opt("attention.head_count_kv", c.n_head);
    // Divide only once the head count is known to be positive; 0 is refused by validate_config.
    c.head_dim = opt("attention.key_length", opt("rope.dimension_count", c.n_head > 0 ? c.n_embd / c.n_head : 0));
    c.n_ctx_train = opt("context_length", 2048);
    c.rms_eps = float(f.get_float(key("attention.layer_norm_rms_epsilon"), 1e-5));
    c.rope_theta = float(f.get_float(key("rope.freq_base"), 10000.0));
    const GgufTensor* emb = f.find_tensor("token_embd.weight");
    if (!emb) throw file_error(f.path(), "missing tensor token_embd.weight");
    c.n_vocab = opt("vocab_size", emb->shape.size() == 2 ? emb->shape[1] : 0);
    c.tied_embeddings = f.find_tensor("output.weight") == nullptr;
    apply_gguf_arch_options(c, f, arch);
    return c;
}

std::unique_ptr<Model> load_gguf_model(const std::string& path, const ProgressFn& progress) {
    GgufFile f(path);
    auto m = std::make_unique<Model>();
    m->path = path;
    m->format = "gguf";
    m->cfg = gguf_config(f);
    validate_config(m->cfg, path);
    m->tok = std::make_unique<Tokenizer>(tokenizer_data_from_gguf(f));
    m->chat_template_text = f.get_string("tokenizer.chat_template");
    m->chat_format = detect_chat_format(m->chat_template_text, &m->chat_warning);

    std::map<std::string, int> type_count;
    const ModelConfig& c = m->cfg;
    auto find = [&](const std::string& hf, const std::vector<int64_t>& shape) {
        const std::string gname = gguf_name_for(hf);
        const GgufTensor* t = f.find_tensor(gname);
        if (!t) throw file_error(path, "missing tensor " + gname);
        // ggml lists dimensions innermost first.
        std::vector<int64_t> want(shape.rbegin(), shape.rend());
        std::vector<int64_t> got = t->shape;
        while (got.size() > want.size() && got.back() == 1) got.pop_back();
        if (got != want) {
            throw file_error(path, "tensor " + gname + " has shape " + shape_string(t->shape) + ", expected " + shape_string(want));
        }
        type_count[ggml_type_name(t->type)]++;
        return t;
    };
    // Only llama's converter permutes (the others use rotate-half "NEOX" RoPE as is).
    auto unpermute = [&](const std::string& hf, const std::vector<int64_t>& shape, auto& w) {
        if (c.arch == "llama" && shape.size() == 2 && hf.find("self_attn.q_proj") != std::string::npos)
            unpermute_heads(w, c.n_head, c.head_dim, int(shape[1]));
        if (c.arch == "llama" && shape.size() == 2 && hf.find("self_attn.k_proj") != std::string::npos)
            unpermute_heads(w, c.n_head_kv, c.head_dim, int(shape[1]));
    };
    auto fetch = [&](const std::string& hf, const std::vector<int64_t>& shape) {
        const GgufTensor* t = find(hf, shape);
        std::vector<float> out(size_t(t->n_elements()));
        dequantize_row(t->type, t->data, out.data(), t->n_elements());
        unpermute(hf, shape, out);
        return out;
    };
    // Matrices: fp16/bf16 as stored; block types as fp16 for large models (kHalfDenseAboveWeights).
    int64_t total = 0;
    for (const GgufTensor& t : f.tensors()) total += t.n_elements();
    const bool blocks_to_half = gguf_blocks_as_fp16(total);
    auto matrix = [&](const std::string& hf, const std::vector<int64_t>& shape, Linear& l) {
        const GgufTensor* t = find(hf, shape);
        const size_t n = size_t(t->n_elements());
        if (t->type == GgmlType::F16 || t->type == GgmlType::BF16) {
            l.dtype = t->type == GgmlType::F16 ? DenseType::F16 : DenseType::BF16;
            l.dense16.resize(n);
            std::memcpy(l.dense16.data(), t->data, n * 2);
            unpermute(hf, shape, l.dense16);
        } else if (blocks_to_half && t->type != GgmlType::F32) {
            l.dtype = DenseType::F16;
            l.dense16.resize(n);
            std::vector<float> row(static_cast<size_t>(shape[1]));
            for (size_t r = 0; r < size_t(shape[0]); ++r) {  // a row at a time: no fp32 copy of the matrix
                const size_t k = size_t(shape[1]);
                dequantize_row(t->type, t->data + ggml_type_size(t->type, int64_t(r * k)), row.data(), int64_t(k));
                for (size_t i = 0; i < k; ++i) l.dense16[r * k + i] = kern::float_to_half(row[i]);
            }
            unpermute(hf, shape, l.dense16);
        } else {
            l.dense.resize(n);
            dequantize_row(t->type, t->data, l.dense.data(), int64_t(n));
            unpermute(hf, shape, l.dense);
        }
        MappedFile::drop_pages(t->data, ggml_type_size(t->type, int64_t(n)));  // copied: not resident twice
    };
    auto has = [&](const std::string& hf) { return f.find_tensor(gguf_name_for(hf)) != nullptr; };
    assemble_dense_model(*m, fetch, has, progress, matrix);

    // Llama 3 GGUFs carry the scaled rope frequencies as a tensor of divisors.
    if (const GgufTensor* rf = f.find_tensor("rope_freqs.weight")) {
        std::vector<float> div(size_t(rf->n_elements()));
        dequantize_row(rf->type, rf->data, div.data(), rf->n_elements());
        if (div.size() != m->rope_inv_freq.size()) throw file_error(path, "rope_freqs.weight has the wrong length");
        for (size_t i = 0; i < div.size(); ++i) m->rope_inv_freq[i] /= div[i];
    }
    std::string types;
    for (auto& [t, n] : type_count) types += (types.empty() ? "" : ", ") + t + " x" + std::to_string(n);
    m->source_note = "GGUF (" + types + "), " +
                     std::string(blocks_to_half ? "matrices in fp16 (a large model)" : "fp16/bf16 kept, other types dequantized to fp32");
    return m;
}

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::string& path) {
    GgufFile f(path);
    return std::make_unique<Tokenizer>(tokenizer_data_from_gguf(f));
}

}  // namespace ap
