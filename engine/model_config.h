// Hyper-parameters of a model (Llama family and the architectures in archs.h), whatever file they came from.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ap {

struct ModelConfig {
    std::string arch = "llama";
    std::string name;
    int n_layer = 0, n_embd = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_ff = 0, n_vocab = 0;
    int n_ctx_train = 2048;
    float rms_eps = 1e-5f;
    float rope_theta = 10000.f;
    // Llama 3 rope scaling (rope_type "llama3"); factor 0 means none.
    float rope_factor = 0.f, rope_low_freq = 1.f, rope_high_freq = 4.f;
    int rope_orig_ctx = 8192;
    bool tied_embeddings = false;

    // Per-architecture features (engine/archs.cpp sets them; defaults are Llama's).
    bool attn_bias = false;       // q/k/v projections have biases (qwen2)
    bool qk_norm = false;         // per-head RMSNorm of q and k before RoPE (qwen3, gemma3)
    int sliding_window = 0;       // attend to the last this many positions only (0: all)
    int swa_pattern = 0;          // 0: every layer slides; n: layer l slides unless (l + 1) % n == 0
    bool embed_scale = false;     // embeddings times sqrt(n_embd) (gemma)
    bool sandwich_norms = false;  // extra norms on the attention and MLP outputs (gemma2/3)
    bool gelu_mlp = false;        // GELU (tanh approximation) instead of SiLU in the gated MLP (gemma)
    float attn_softcap = 0.f;     // attention scores -> cap * tanh(s / cap) (gemma2; 0: none)
    float final_softcap = 0.f;    // the same for the output logits
    float attn_scale = 0.f;       // scale of q.k (0: 1/sqrt(head_dim))
    float rope_theta_local = 0.f; // sliding layers' rope theta where it differs (gemma3; 0: same)
    float rope_linear = 0.f;      // linear rope scaling factor of the other layers (0: none)
    // Phi-3 LongRoPE: per-frequency divisors (the short factors, valid up to
    // n_ctx_train, which is set to the original context) and the cos/sin multiplier.
    std::vector<float> rope_ext_factors;  // empty or head_dim / 2 values
    float rope_attn_factor = 0.f;         // 0: 1

    bool layer_slides(int l) const {
        return sliding_window > 0 && (swa_pattern <= 0 || (l + 1) % swa_pattern != 0);
    }
};

// Checks the numbers are consistent and within engine/input_limits.h; throws
// ap::Error naming `source`. Every loader calls it before sizing anything.
void validate_config(const ModelConfig& c, const std::string& source);
// A header integer as an int, or an error naming the field when it does not fit.
int config_int(int64_t v, const char* what, const std::string& source);
std::string config_to_json(const ModelConfig& c);
ModelConfig config_from_json(const std::string& json, const std::string& source);
// Hugging Face config.json (architectures: see archs.h).
ModelConfig config_from_hf(const std::string& config_json, const std::string& source);

}  // namespace ap
