#include "model_config.h"

#include "archs.h"
#include "error.h"

#include "input_limits.h"

#include <nlohmann/json.hpp>

#include <climits>
#include <cmath>
#include <cstdint>

namespace ap {

using nlohmann::json;

namespace {

// An integer field as an int: JSON numbers convert silently with wrap-around
// (4294967297 heads would become 1), so go through int64 and check the range.
int json_int(const json& j, const char* key, const std::string& source) {
    const json& v = j.at(key);
    if (!v.is_number_integer()) throw file_error(source, std::string("invalid model config: ") + key + " is not an integer");
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX))
        throw file_error(source, std::string("invalid model config: ") + key + " is out of range");
    return config_int(v.get<int64_t>(), key, source);
}

int json_int_or(const json& j, const char* key, int def, const std::string& source) {
    return j.contains(key) && !j[key].is_null() ? json_int(j, key, source) : def;
}

}  // namespace

void validate_config(const ModelConfig& c, const std::string& source) {
    namespace L = limits;
    auto bad = [&](const std::string& what) { return file_error(source, "invalid model config: " + what); };
    auto range = [&](int v, int hi, const char* what) {
        if (v <= 0 || v > hi)
            throw bad(std::string(what) + " " + std::to_string(v) + " (accepted: 1.." + std::to_string(hi) + ")");
    };
    range(c.n_layer, L::kMaxLayers, "layer count");
    range(c.n_embd, L::kMaxEmbd, "hidden size");
    range(c.n_head, L::kMaxHeads, "attention head count");
    range(c.n_head_kv, L::kMaxHeads, "KV head count");
    if (c.n_head % c.n_head_kv != 0)
        throw bad("attention heads (" + std::to_string(c.n_head) + ") not a multiple of KV heads (" +
                  std::to_string(c.n_head_kv) + ")");
    range(c.head_dim, L::kMaxHeadDim, "head dimension");
    if (c.head_dim % 2 != 0) throw bad("head dimension " + std::to_string(c.head_dim) + " is odd (RoPE needs pairs)");
    range(c.n_ff, L::kMaxFeedForward, "feed-forward size");
    range(c.n_vocab, L::kMaxVocab, "vocabulary size");
    range(c.n_ctx_train, L::kMaxContext, "training context length");
    if (!(c.rms_eps > 0)) throw bad("rms epsilon must be positive");
    if (!(c.rope_theta > 0) || !std::isfinite(c.rope_theta)) throw bad("rope theta must be positive and finite");
    // With the bounds above, n_head * head_dim (<= 2^20) and every per-layer
    // product of two dimensions fit in 64 bits; sizes are computed in int64.
}

int config_int(int64_t v, const char* what, const std::string& source) {
    if (v < INT32_MIN || v > INT32_MAX)
        throw file_error(source, std::string("invalid model config: ") + what + " " + std::to_string(v) + " is out of range");
    return static_cast<int>(v);
}

std::string config_to_json(const ModelConfig& c) {
    json j = {{"arch", c.arch},           {"name", c.name},
              {"n_layer", c.n_layer},     {"n_embd", c.n_embd},
              {"n_head", c.n_head},       {"n_head_kv", c.n_head_kv},
              {"head_dim", c.head_dim},   {"n_ff", c.n_ff},
              {"n_vocab", c.n_vocab},     {"n_ctx_train", c.n_ctx_train},
              {"rms_eps", c.rms_eps},     {"rope_theta", c.rope_theta},
              {"rope_factor", c.rope_factor}, {"rope_low_freq", c.rope_low_freq},
              {"rope_high_freq", c.rope_high_freq}, {"rope_orig_ctx", c.rope_orig_ctx},
              {"tied_embeddings", c.tied_embeddings}};
    // Architecture features: written only when set, so Llama checkpoints keep their config text.
    if (c.attn_bias) j["attn_bias"] = true;
    if (c.qk_norm) j["qk_norm"] = true;
    if (c.sliding_window) j["sliding_window"] = c.sliding_window;
    if (c.swa_pattern) j["swa_pattern"] = c.swa_pattern;
    if (c.embed_scale) j["embed_scale"] = true;
    if (c.sandwich_norms) j["sandwich_norms"] = true;
    if (c.gelu_mlp) j["gelu_mlp"] = true;
    if (c.attn_softcap) j["attn_softcap"] = c.attn_softcap;
    if (c.final_softcap) j["final_softcap"] = c.final_softcap;
    if (c.attn_scale) j["attn_scale"] = c.attn_scale;
    if (c.rope_theta_local) j["rope_theta_local"] = c.rope_theta_local;
    if (c.rope_linear) j["rope_linear"] = c.rope_linear;
    if (!c.rope_ext_factors.empty()) j["rope_ext_factors"] = c.rope_ext_factors;
    if (c.rope_attn_factor) j["rope_attn_factor"] = c.rope_attn_factor;
    return j.dump();
}

ModelConfig config_from_json(const std::string& text, const std::string& source) {
    ModelConfig c;
    try {
        json j = json::parse(text);
        c.arch = j.at("arch").get<std::string>();
        c.name = j.value("name", std::string());
        c.n_layer = json_int(j, "n_layer", source);
        c.n_embd = json_int(j, "n_embd", source);
        c.n_head = json_int(j, "n_head", source);
        c.n_head_kv = json_int(j, "n_head_kv", source);
        c.head_dim = json_int(j, "head_dim", source);
        c.n_ff = json_int(j, "n_ff", source);
        c.n_vocab = json_int(j, "n_vocab", source);
        c.n_ctx_train = json_int_or(j, "n_ctx_train", 2048, source);
        c.rms_eps = j.at("rms_eps");
        c.rope_theta = j.at("rope_theta");
        c.rope_factor = j.value("rope_factor", 0.f);
        c.rope_low_freq = j.value("rope_low_freq", 1.f);
        c.rope_high_freq = j.value("rope_high_freq", 4.f);
        c.rope_orig_ctx = json_int_or(j, "rope_orig_ctx", 8192, source);
        c.tied_embeddings = j.value("tied_embeddings", false);
        c.attn_bias = j.value("attn_bias", false);
        c.qk_norm = j.value("qk_norm", false);
        c.sliding_window = json_int_or(j, "sliding_window", 0, source);
        c.swa_pattern = json_int_or(j, "swa_pattern", 0, source);
        c.embed_scale = j.value("embed_scale", false);
        c.sandwich_norms = j.value("sandwich_norms", false);
        c.gelu_mlp = j.value("gelu_mlp", false);
        c.attn_softcap = j.value("attn_softcap", 0.f);
        c.final_softcap = j.value("final_softcap", 0.f);
        c.attn_scale = j.value("attn_scale", 0.f);
        c.rope_theta_local = j.value("rope_theta_local", 0.f);
        c.rope_linear = j.value("rope_linear", 0.f);
        c.rope_ext_factors = j.value("rope_ext_factors", std::vector<float>());
        c.rope_attn_factor = j.value("rope_attn_factor", 0.f);
        check_rope_ext_factors(c, source);
        if (!arch_known(c.arch))
            throw file_error(source, "unsupported architecture '" + c.arch + "' (supported: " + kSupportedArchs + ")");
    } catch (const json::exception& e) {
        throw file_error(source, std::string("bad model config JSON: ") + e.what());
    }
    validate_config(c, source);
    return c;
}

ModelConfig config_from_hf(const std::string& config_json, const std::string& source) {
    ModelConfig c;
    try {
        // Vision-language checkpoints (Gemma 3): the language model's own config.
        const std::string text = language_model_config(config_json);
        json j = json::parse(text);
        std::string mt = j.value("model_type", std::string());
        std::string archs = j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty()
                                ? j["architectures"][0].get<std::string>()
                                : std::string();
        c.arch = arch_from_hf_model_type(mt);
        if (c.arch.empty()) throw file_error(source, unsupported_arch_message(mt.empty() ? archs : mt));
        c.name = j.value("_name_or_path", std::string());
        c.n_layer = json_int(j, "num_hidden_layers", source);
        c.n_embd = json_int(j, "hidden_size", source);
        c.n_head = json_int(j, "num_attention_heads", source);
        c.n_head_kv = json_int_or(j, "num_key_value_heads", c.n_head, source);
        c.head_dim = j.contains("head_dim") && !j["head_dim"].is_null() ? json_int(j, "head_dim", source)
                     : c.n_head > 0 ? c.n_embd / c.n_head : 0;  // 0 is refused by validate_config
        c.n_ff = json_int(j, "intermediate_size", source);
        c.n_vocab = json_int(j, "vocab_size", source);
        c.n_ctx_train = json_int_or(j, "max_position_embeddings", 2048, source);
        c.rms_eps = j.value("rms_norm_eps", 1e-5f);
        c.rope_theta = j.value("rope_theta", 10000.f);
        c.tied_embeddings = j.value("tie_word_embeddings", false);
        if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) {
            const auto& rs = j["rope_scaling"];
            std::string type = rs.value("rope_type", rs.value("type", std::string()));
            if (type == "llama3") {
                c.rope_factor = rs.value("factor", 8.f);
                c.rope_low_freq = rs.value("low_freq_factor", 1.f);
                c.rope_high_freq = rs.value("high_freq_factor", 4.f);
                c.rope_orig_ctx = json_int_or(rs, "original_max_position_embeddings", 8192, source);
            } else if (type == "linear") {
                c.rope_linear = rs.value("factor", 1.f);
            } else if (type == "longrope" || type == "su") {
                // Phi-3 LongRoPE: archs.cpp reads it for the architectures that use it.
            } else if (!type.empty() && type != "default") {
                throw file_error(source, "unsupported rope_scaling type '" + type + "'");
            }
        }
        apply_hf_arch_options(c, text, source);
    } catch (const json::exception& e) {
        throw file_error(source, std::string("bad config.json: ") + e.what());
    }
    validate_config(c, source);
    return c;
}

}  // namespace ap
