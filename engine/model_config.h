// Hyper-parameters of a Llama-family model, whatever file they came from.
#pragma once
#include <cstdint>
#include <string>

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
};

// Checks the numbers are consistent and within engine/input_limits.h; throws
// ap::Error naming `source`. Every loader calls it before sizing anything.
void validate_config(const ModelConfig& c, const std::string& source);
std::string config_to_json(const ModelConfig& c);
ModelConfig config_from_json(const std::string& json, const std::string& source);
// Hugging Face config.json (LlamaForCausalLM, MistralForCausalLM, Qwen2 without bias is rejected).
ModelConfig config_from_hf(const std::string& config_json, const std::string& source);

}  // namespace ap
// A header integer as an int, or an error naming the field when it does not fit.
int config_int(int64_t v, const char* what, const std::string& source);
