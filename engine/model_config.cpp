#include "model_config.h"

#include "error.h"

#include <nlohmann/json.hpp>

namespace ap {

using nlohmann::json;

void validate_config(const ModelConfig& c, const std::string& source) {
    auto bad = [&](const std::string& what) { return file_error(source, "invalid model config: " + what); };
    if (c.n_layer <= 0 || c.n_layer > 1024) throw bad("layer count " + std::to_string(c.n_layer));
    if (c.n_embd <= 0) throw bad("hidden size " + std::to_string(c.n_embd));
    if (c.n_head <= 0 || c.n_head_kv <= 0) throw bad("head counts must be positive");
    if (c.n_head % c.n_head_kv != 0)
        throw bad("attention heads (" + std::to_string(c.n_head) + ") not a multiple of KV heads (" +
                  std::to_string(c.n_head_kv) + ")");
    if (c.head_dim <= 0 || c.head_dim % 2 != 0) throw bad("head dimension " + std::to_string(c.head_dim));
    if (c.n_ff <= 0) throw bad("feed-forward size " + std::to_string(c.n_ff));
    if (c.n_vocab <= 0) throw bad("vocabulary size " + std::to_string(c.n_vocab));
    if (!(c.rms_eps > 0)) throw bad("rms epsilon must be positive");
    if (!(c.rope_theta > 0)) throw bad("rope theta must be positive");
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
    return j.dump();
}

ModelConfig config_from_json(const std::string& text, const std::string& source) {
    ModelConfig c;
    try {
        json j = json::parse(text);
        c.arch = j.at("arch").get<std::string>();
        c.name = j.value("name", std::string());
        c.n_layer = j.at("n_layer");
        c.n_embd = j.at("n_embd");
        c.n_head = j.at("n_head");
        c.n_head_kv = j.at("n_head_kv");
        c.head_dim = j.at("head_dim");
        c.n_ff = j.at("n_ff");
        c.n_vocab = j.at("n_vocab");
        c.n_ctx_train = j.value("n_ctx_train", 2048);
        c.rms_eps = j.at("rms_eps");
        c.rope_theta = j.at("rope_theta");
        c.rope_factor = j.value("rope_factor", 0.f);
        c.rope_low_freq = j.value("rope_low_freq", 1.f);
        c.rope_high_freq = j.value("rope_high_freq", 4.f);
        c.rope_orig_ctx = j.value("rope_orig_ctx", 8192);
        c.tied_embeddings = j.value("tied_embeddings", false);
    } catch (const json::exception& e) {
        throw file_error(source, std::string("bad model config JSON: ") + e.what());
    }
    validate_config(c, source);
    return c;
}

ModelConfig config_from_hf(const std::string& text, const std::string& source) {
    ModelConfig c;
    try {
        json j = json::parse(text);
        std::string mt = j.value("model_type", std::string());
        std::string archs = j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty()
                                ? j["architectures"][0].get<std::string>()
                                : std::string();
        if (mt != "llama" && mt != "mistral")
            throw file_error(source, "unsupported architecture '" + (mt.empty() ? archs : mt) +
                                         "' (supported: llama, mistral)");
        c.arch = "llama";
        c.name = j.value("_name_or_path", std::string());
        c.n_layer = j.at("num_hidden_layers");
        c.n_embd = j.at("hidden_size");
        c.n_head = j.at("num_attention_heads");
        c.n_head_kv = j.value("num_key_value_heads", c.n_head);
        c.head_dim = j.contains("head_dim") && !j["head_dim"].is_null() ? j["head_dim"].get<int>() : c.n_embd / c.n_head;
        c.n_ff = j.at("intermediate_size");
        c.n_vocab = j.at("vocab_size");
        c.n_ctx_train = j.value("max_position_embeddings", 2048);
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
                c.rope_orig_ctx = rs.value("original_max_position_embeddings", 8192);
            } else if (!type.empty() && type != "default") {
                throw file_error(source, "unsupported rope_scaling type '" + type + "'");
            }
        }
        if (j.value("attention_bias", false) || j.value("mlp_bias", false))
            throw file_error(source, "biases in attention/MLP are not supported");
    } catch (const json::exception& e) {
        throw file_error(source, std::string("bad config.json: ") + e.what());
    }
    validate_config(c, source);
    return c;
}

}  // namespace ap
