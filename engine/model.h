// A loaded model (Llama family and the architectures in archs.h): config, tokenizer, chat format and weights
// (dense fp32, or any-precision bitplanes served at any width).
#pragma once
#include "ap_weight.h"
#include "chat_template.h"
#include "kernels.h"
#include "model_config.h"
#include "tokenizer.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ap {

// How a dense matrix is held: fp32, or 16-bit as the source stored it (half
// the memory and half the bytes per token; an 8B bf16 model is 16 GB, not 32).
enum class DenseType : uint8_t { F32, F16, BF16 };

// Block-quantized GGUF tensors (Q4_K, Q8_0, ...) are dequantized to fp32 for
// models up to this many weights and to fp16 above it, where fp32 would not
// fit a desktop's memory (an 8B Q4_K_M file would take 32 GB).
// ANYPREC_DENSE16=1 asks for fp16 at any size (half the memory of fp32).
constexpr int64_t kHalfDenseAboveWeights = 1'500'000'000;
bool gguf_blocks_as_fp16(int64_t total_weights);

// One linear layer (or the embedding / output head): dense or any-precision.
struct Linear {
    std::string name;  // Hugging Face tensor name, e.g. model.layers.0.self_attn.q_proj.weight
    int rows = 0, cols = 0;
    std::vector<float> dense;            // rows*cols when not quantized and held as fp32
    std::vector<uint16_t> dense16;       // rows*cols when not quantized and held as fp16/bf16
    DenseType dtype = DenseType::F32;
    std::shared_ptr<ApWeight> ap;        // set when quantized
    bool quantized() const { return ap != nullptr; }
    bool has_dense() const { return dense.size() + dense16.size() == size_t(rows) * size_t(cols) && rows > 0; }
    uint64_t dense_bytes() const { return dense.size() * 4 + dense16.size() * 2; }
    void dense_rows(int r0, int r1, float* out) const;  // rows r0..r1-1 as fp32
    std::vector<float> dense_f32() const;               // the whole matrix as fp32
    void release_dense();                               // frees the dense copy (after quantizing)
};

struct LayerWeights {
    std::vector<float> attn_norm, mlp_norm;
    // Per-architecture extras, empty where the architecture has none.
    std::vector<float> q_bias, k_bias, v_bias;         // qwen2: [n_head*hd], [n_kv*hd], [n_kv*hd]
    std::vector<float> q_norm, k_norm;                 // qwen3, gemma3: per-head RMSNorm [head_dim]
    std::vector<float> post_attn_norm, post_mlp_norm;  // gemma2/3: norms of the block outputs [n_embd]
    Linear wq, wk, wv, wo, w_gate, w_up, w_down;
    // The one list of a layer's projections (fused source tensors such as
    // phi3's qkv_proj are split into these on load).
    std::array<Linear*, 7> projections() { return {&wq, &wk, &wv, &wo, &w_gate, &w_up, &w_down}; }
    std::array<const Linear*, 7> projections() const { return {&wq, &wk, &wv, &wo, &w_gate, &w_up, &w_down}; }
};

// The one list of a layer's unquantized vectors: Hugging Face name suffix
// (after "model.layers.<i>.") and member; a model stores the non-empty ones.
struct LayerVectorField {
    const char* suffix;
    std::vector<float> LayerWeights::*field;
};
inline constexpr LayerVectorField kLayerVectors[] = {
    {"input_layernorm.weight", &LayerWeights::attn_norm},
    {"post_attention_layernorm.weight", &LayerWeights::mlp_norm},
    {"self_attn.q_proj.bias", &LayerWeights::q_bias},
    {"self_attn.k_proj.bias", &LayerWeights::k_bias},
    {"self_attn.v_proj.bias", &LayerWeights::v_bias},
    {"self_attn.q_norm.weight", &LayerWeights::q_norm},
    {"self_attn.k_norm.weight", &LayerWeights::k_norm},
    {"post_attn_out_norm.weight", &LayerWeights::post_attn_norm},
    {"post_feedforward_layernorm.weight", &LayerWeights::post_mlp_norm},
};

// Metadata of an any-precision checkpoint (empty for plain models).
struct QuantInfo {
    bool any_precision = false;
    int seed_bits = 0, parent_bits = 0;
    int anchor_bits = 0;  // the width clustered optimally (the seed unless chosen otherwise)
    // The embedding and output head are served at no less than this width (0 =
    // at the served width). Every width is stored, so it is a serving choice:
    // the quantizer records a default, and a user may override it after loading.
    int head_min_bits = 0;
    // How widths above the seed were nested: "greedy" (optimal seed, best
    // splits), "joint" (seed and tree chosen together, seed error at most
    // seed_slack above the optimal seed's), "" for baselines and old files.
    std::string nesting;
    double seed_slack = 0;
    std::string method, sensitivity, source_file, source_sha256, calib_file, calib_sha256, tool_version;
    int calib_tokens = 0;
};

struct Model {
    std::string path;
    std::string format;  // "gguf", "hf", "anyprec"
    std::string source_note;  // e.g. "GGUF Q4_1 source (dequantized to fp32)"
    ModelConfig cfg;
    std::unique_ptr<Tokenizer> tok;
    std::string chat_template_text;
    ChatFormat chat_format = ChatFormat::ChatML;
    std::string chat_warning;
    Linear embed;     // [n_vocab][n_embd]
    Linear head;      // output head; for tied models a view of embed (head.ap/dense shared)
    std::vector<float> final_norm;
    std::vector<LayerWeights> layers;
    std::vector<float> rope_inv_freq;  // head_dim/2 inverse frequencies, scaling applied
    std::vector<float> rope_inv_freq_local;  // sliding-window layers' frequencies where they differ (gemma3)
    QuantInfo quant;

    bool any_precision() const { return quant.any_precision; }
    // The output projection: the embedding matrix itself for tied models.
    const Linear& output() const { return cfg.tied_embeddings ? embed : head; }
    int min_bits() const { return quant.any_precision ? quant.seed_bits : 0; }
    int max_bits() const { return quant.any_precision ? quant.parent_bits : 0; }
    // Width of the embedding and head when the layers run at `bits` (resolved).
    int head_bits(int bits) const {
        return bits == 0 || quant.head_min_bits <= bits ? bits : std::min(quant.head_min_bits, max_bits());
    }
    // Width of a given matrix (the embedding/head floor applied to those).
    int width_of(const Linear& l, int bits) const { return &l == &embed || &l == &head ? head_bits(bits) : bits; }
    // Widths this model can serve: {0} for dense (0 = full precision), seed..parent otherwise.
    std::vector<int> widths() const;
    // Clamp a requested width to what the model serves (0 -> parent width).
    int resolve_bits(int bits) const;
    int64_t n_params() const;
};

// Called during long operations; return false to cancel.
using ProgressFn = std::function<bool(double fraction, const std::string& stage)>;

// Loads a GGUF file, a Hugging Face folder or an any-precision checkpoint
// (format picked from the contents). Throws ap::Error naming the file and problem.
std::unique_ptr<Model> load_model(const std::string& path, const ProgressFn& progress = {});
// The checks load_model makes before it reads any weight (format, header,
// tensor directory within the file, config, tokenizer), on mapped headers
// only: cheap, so an app can refuse a bad file before it frees the model it
// has. Throws the ap::Error load_model would.
void check_model_file(const std::string& path);
// Only the tokenizer (works on vocabulary-only GGUF files too).
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);
// Rotary inverse frequencies from the config (theta, Llama 3 scaling).
std::vector<float> rope_inv_freq(const ModelConfig& c);
// Those of the sliding-window layers when their theta differs (empty otherwise).
std::vector<float> rope_inv_freq_local(const ModelConfig& c);

// What the weights take and what separate models would take.
struct MemoryReport {
    uint64_t plane_bytes = 0;   // parent bitplanes
    uint64_t table_bytes = 0;   // per-row tables of every width
    uint64_t dense_bytes = 0;   // unquantized tensors (fp32)
    uint64_t kv_bytes = 0;
    uint64_t activation_bytes = 0;
    // Per served width: bytes one b-bit model of the same layout would take alone
    // (top b planes + its b-bit tables + dense tensors).
    std::vector<std::pair<int, uint64_t>> separate_bytes;
    uint64_t weight_total() const { return plane_bytes + table_bytes + dense_bytes; }
    uint64_t separate_total() const;
};
MemoryReport weight_memory(const Model& m);
// Weight bytes read per token at a width (planes + tables + dense, incl. head).
uint64_t bytes_per_token(const Model& m, int bits);
// Bits per weight of the weight matrices at a width, tables included; matrices left
// unquantized count at their in-memory size (0 for a model with no any-precision matrix).
double bits_per_weight(const Model& m, int bits);

}  // namespace ap
