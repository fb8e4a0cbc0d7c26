#include "archs.h"

#include "error.h"
#include "gguf.h"
#include "model.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace ap {

using nlohmann::json;

const char* const kSupportedArchs = "llama, mistral, qwen2, qwen3, phi3, gemma2, gemma3";

bool arch_known(const std::string& a) {
    return a == "llama" || a == "qwen2" || a == "qwen3" || a == "phi3" || a == "gemma2" || a == "gemma3";
}

std::string unsupported_arch_message(const std::string& name) {
    std::string msg = "unsupported architecture '" + name + "' (supported: " + kSupportedArchs + ")";
    if (name == "gemma3" || name == "Gemma3ForConditionalGeneration")
        msg += "; a Gemma 3 vision-language config loads only with a gemma3_text text_config";
    return msg;
}

std::string arch_from_hf_model_type(const std::string& mt) {
    if (mt == "llama" || mt == "mistral") return "llama";
    if (mt == "qwen2" || mt == "qwen3" || mt == "phi3" || mt == "gemma2") return mt;
    if (mt == "gemma3_text") return "gemma3";
    return {};
}

std::string arch_from_gguf(const std::string& a) {
    if (a == "llama" || a == "mistral") return "llama";
    if (a == "qwen2" || a == "qwen3" || a == "phi3" || a == "gemma2" || a == "gemma3") return a;
    return {};
}

namespace {

// Gemma 2 and 3 share their block: sandwich norms, scaled embeddings, GELU MLP.
void set_gemma_common(ModelConfig& c) {
    c.embed_scale = true;
    c.sandwich_norms = true;
    c.gelu_mlp = true;
    c.tied_embeddings = true;  // Gemma has no separate head
}

int positive_or_zero(const json& j, const char* key) {
    if (!j.contains(key) || j[key].is_null()) return 0;
    const int64_t v = j[key].get<int64_t>();
    return v > 0 && v <= (int64_t(1) << 30) ? int(v) : 0;
}

}  // namespace

static bool is_gemma3_vlm(const json& j) {
    return j.value("model_type", std::string()) == "gemma3" && j.contains("text_config") && j["text_config"].is_object();
}

std::string language_model_config(const std::string& text) {
    const json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !is_gemma3_vlm(j)) return text;
    // Gemma3TextConfig's defaults: the Hub's configs list only what differs from them.
    json t = {{"model_type", "gemma3_text"},
              {"architectures", {"Gemma3ForCausalLM"}},
              {"vocab_size", 262208},
              {"hidden_size", 2304},
              {"intermediate_size", 9216},
              {"num_hidden_layers", 26},
              {"num_attention_heads", 8},
              {"num_key_value_heads", 4},
              {"head_dim", 256},
              {"hidden_activation", "gelu_pytorch_tanh"},
              {"max_position_embeddings", 131072},
              {"rms_norm_eps", 1e-6},
              {"rope_theta", 1000000.0},
              {"rope_local_base_freq", 10000.0},
              {"query_pre_attn_scalar", 256},
              {"sliding_window", 4096},
              {"sliding_window_pattern", 6},
              {"tie_word_embeddings", true}};
    for (const auto& [k, v] : j["text_config"].items()) {
        if (k == "model_type" && v != "gemma3_text") return text;  // not what we know: refused as "gemma3"
        t[k] = v;
    }
    if (t.contains("rope_parameters")) t.erase("rope_theta");  // transformers 5 keeps theta in there
    if (j.contains("tie_word_embeddings") && j["tie_word_embeddings"].is_boolean()) t["tie_word_embeddings"] = j["tie_word_embeddings"];
    return t.dump();
}

std::string language_model_prefix(const std::string& text) {
    const json j = json::parse(text, nullptr, false);
    return !j.is_discarded() && j.is_object() && is_gemma3_vlm(j) ? "language_model." : "";
}

void apply_hf_arch_options(ModelConfig& c, const std::string& text, const std::string& source) {
    const json j = json::parse(text);
    auto refuse = [&](const std::string& what) {
        return file_error(source, c.arch + " model with " + what + " is not supported");
    };
    // transformers 5 writes rope settings as "rope_parameters" (per layer type for
    // Gemma 3) instead of rope_theta / rope_scaling / rope_local_base_freq.
    json scaling = j.contains("rope_scaling") && j["rope_scaling"].is_object() ? j["rope_scaling"] : json();
    if (!j.contains("rope_theta") && j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
        json rp = j["rope_parameters"];
        if (rp.contains("full_attention") && rp["full_attention"].is_object()) {
            if (rp.contains("sliding_attention") && rp["sliding_attention"].is_object()) {
                const json& lp = rp["sliding_attention"];
                if (lp.value("rope_type", std::string("default")) != "default")
                    throw refuse("rope type '" + lp.value("rope_type", std::string()) + "' on sliding layers");
                c.rope_theta_local = lp.value("rope_theta", 10000.f);
            }
            rp = json(rp["full_attention"]);
        }
        c.rope_theta = rp.value("rope_theta", c.rope_theta);
        if (rp.contains("partial_rotary_factor") && rp["partial_rotary_factor"].is_number() &&
            rp["partial_rotary_factor"].get<double>() != 1.0)
            throw refuse("partial rotary embeddings");
        scaling = rp;
        const std::string type = rp.value("rope_type", std::string("default"));
        if (type == "linear") {
            c.rope_linear = rp.value("factor", 1.f);
        } else if (type == "llama3") {
            c.rope_factor = rp.value("factor", 8.f);
            c.rope_low_freq = rp.value("low_freq_factor", 1.f);
            c.rope_high_freq = rp.value("high_freq_factor", 4.f);
            c.rope_orig_ctx = rp.value("original_max_position_embeddings", 8192);
        } else if (type != "default" && type != "longrope") {
            throw file_error(source, "unsupported rope type '" + type + "'");
        }
    }
    // LongRoPE (Phi-3 128k, Phi-3.5): per-frequency divisors and a cos/sin factor.
    // We run the short factors, i.e. up to the original context, as transformers
    // does for sequences that fit it.
    const std::string scaling_type =
        scaling.is_object() ? scaling.value("rope_type", scaling.value("type", std::string())) : std::string();
    if (scaling_type == "longrope" || scaling_type == "su") {
        if (c.arch != "phi3") throw refuse("LongRoPE scaling");
        c.rope_ext_factors = scaling.at("short_factor").get<std::vector<float>>();
        const int orig = scaling.contains("original_max_position_embeddings")
                             ? scaling["original_max_position_embeddings"].get<int>()
                             : j.value("original_max_position_embeddings", 0);
        if (orig <= 1) throw refuse("LongRoPE without original_max_position_embeddings");
        const double factor = scaling.contains("factor") && scaling["factor"].is_number()
                                  ? scaling["factor"].get<double>()
                                  : double(c.n_ctx_train) / orig;
        c.rope_attn_factor = scaling.contains("attention_factor") && scaling["attention_factor"].is_number()
                                 ? scaling["attention_factor"].get<float>()
                                 : float(factor <= 1 ? 1.0 : std::sqrt(1 + std::log(factor) / std::log(double(orig))));
        c.n_ctx_train = std::min(c.n_ctx_train, orig);
        check_rope_ext_factors(c, source);
    }
    const bool attention_bias = j.value("attention_bias", false), mlp_bias = j.value("mlp_bias", false);
    if (mlp_bias) throw refuse("MLP biases");
    if (j.contains("partial_rotary_factor") && j["partial_rotary_factor"].is_number() &&
        j["partial_rotary_factor"].get<double>() != 1.0)
        throw refuse("partial rotary embeddings");
    // Qwen configs carry a sliding_window that only applies with use_sliding_window.
    if ((c.arch == "qwen2" || c.arch == "qwen3") && j.value("use_sliding_window", false))
        throw refuse("use_sliding_window");

    if (c.arch == "llama") {
        if (attention_bias) throw refuse("attention biases");
        c.sliding_window = positive_or_zero(j, "sliding_window");  // Mistral 7B v0.1: 4096
    } else if (c.arch == "qwen2") {
        c.attn_bias = true;  // Qwen2 always has q/k/v biases
    } else if (c.arch == "qwen3") {
        c.qk_norm = true;
        c.attn_bias = attention_bias;
    } else if (c.arch == "phi3") {
        if (attention_bias) throw refuse("attention biases");
        c.sliding_window = positive_or_zero(j, "sliding_window");
    } else if (c.arch == "gemma2" || c.arch == "gemma3") {
        set_gemma_common(c);
        if (attention_bias) throw refuse("attention biases");
        // hidden_activation wins over hidden_act where set (null in some configs).
        auto str_or = [&](const char* k, const std::string& def) {
            return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : def;
        };
        const std::string act = str_or("hidden_activation", str_or("hidden_act", "gelu_pytorch_tanh"));
        if (act != "gelu_pytorch_tanh" && act != "gelu_tanh")
            throw refuse("activation '" + act + "'");
        if (j.contains("query_pre_attn_scalar") && j["query_pre_attn_scalar"].is_number()) {
            const double q = j["query_pre_attn_scalar"].get<double>();
            if (!(q > 0) || !std::isfinite(q)) throw refuse("query_pre_attn_scalar " + std::to_string(q));
            c.attn_scale = float(1.0 / std::sqrt(q));
        }
        c.sliding_window = positive_or_zero(j, "sliding_window");
        if (c.arch == "gemma2") {
            c.swa_pattern = 2;  // even layers slide
            if (j.contains("attn_logit_softcapping") && j["attn_logit_softcapping"].is_number())
                c.attn_softcap = j["attn_logit_softcapping"].get<float>();
            if (j.contains("final_logit_softcapping") && j["final_logit_softcapping"].is_number())
                c.final_softcap = j["final_logit_softcapping"].get<float>();
        } else {
            c.qk_norm = true;
            c.swa_pattern = j.value("sliding_window_pattern", 6);
            if (j.contains("layer_types") && j["layer_types"].is_array()) {
                // The pattern as a list: check it is the periodic one we implement.
                const auto& lt = j["layer_types"];
                int period = 0;
                for (size_t i = 0; i < lt.size(); ++i)
                    if (lt[i] == "full_attention") { period = int(i) + 1; break; }
                if (period == 0) period = int(lt.size()) + 1;
                for (size_t i = 0; i < lt.size(); ++i)
                    if ((lt[i] == "sliding_attention") != ((int(i) + 1) % period != 0))
                        throw refuse("an irregular layer_types pattern");
                c.swa_pattern = period;
            }
            if (j.contains("rope_local_base_freq")) c.rope_theta_local = j["rope_local_base_freq"].get<float>();
            if (!(c.rope_theta_local > 0)) c.rope_theta_local = 10000.f;
            for (const char* k : {"attn_logit_softcapping", "final_logit_softcapping"})
                if (j.contains(k) && j[k].is_number()) throw refuse(k);
        }
    }
}

// attention.sliding_window_pattern as a period (uint32) or, as newer converters
// write it, one bool per layer (true = sliding), which must be periodic.
static int gguf_swa_pattern(const GgufFile& f, const std::string& key, int n_layer, int def) {
    const GgufValue* v = f.find(key);
    if (!v) return def;
    if (v->type != GgufValueType::ARRAY) return int(std::clamp<int64_t>(f.get_int(key, def), 0, 1 << 20));
    const size_t n = v->size();
    if (n != size_t(n_layer)) throw file_error(f.path(), key + " lists " + std::to_string(n) + " layers, not " + std::to_string(n_layer));
    int period = int(n) + 1;
    for (size_t i = 0; i < n; ++i)
        if (v->element(i).as_int() == 0) {
            period = int(i) + 1;
            break;
        }
    for (size_t i = 0; i < n; ++i)
        if ((v->element(i).as_int() != 0) != ((int(i) + 1) % period != 0))
            throw file_error(f.path(), key + " is not a repeating pattern of sliding and global layers");
    return period;
}

void apply_gguf_arch_options(ModelConfig& c, const GgufFile& f, const std::string& a) {
    auto key = [&](const char* k) { return a + "." + k; };
    const int64_t swa = f.get_int(key("attention.sliding_window"), 0);
    c.sliding_window = swa > 0 && swa <= (int64_t(1) << 30) ? int(swa) : 0;
    if (c.arch == "qwen2") {
        c.attn_bias = true;
    } else if (c.arch == "qwen3") {
        c.qk_norm = true;
        c.attn_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
    } else if (c.arch == "phi3") {
        // Phi-3 128k / 3.5 (LongRoPE): llama.cpp's converter stores the short and long
        // factors as tensors and the cos/sin factor as a key; we run the short ones,
        // up to the original context.
        if (const GgufTensor* t = f.find_tensor("rope_factors_short.weight")) {
            c.rope_ext_factors.resize(size_t(t->n_elements()));
            dequantize_row(t->type, t->data, c.rope_ext_factors.data(), t->n_elements());
            c.rope_attn_factor = float(f.get_float(key("rope.scaling.attn_factor"), 1.0));
            const int64_t orig = f.get_int(key("rope.scaling.original_context_length"), 0);
            if (orig > 1) c.n_ctx_train = int(std::min<int64_t>(c.n_ctx_train, orig));
            check_rope_ext_factors(c, f.path());
        } else if (f.find_tensor("rope_factors_long.weight")) {
            throw file_error(f.path(), "phi3 model with long rope factors but no short ones is not supported");
        }
    } else if (c.arch == "gemma2" || c.arch == "gemma3") {
        set_gemma_common(c);
        // llama.cpp keeps no query_pre_attn_scalar: like llama.cpp, 1/sqrt(head_dim)
        // except for the 27B models (46 / 62 layers), whose scalar is n_embd / n_head.
        c.attn_scale = float(f.get_float(key("attention.scale"), 0.0));
        const bool is_27b = (c.arch == "gemma2" && c.n_layer == 46) || (c.arch == "gemma3" && c.n_layer == 62);
        if (!(c.attn_scale > 0) && is_27b && c.n_head > 0) c.attn_scale = float(1.0 / std::sqrt(double(c.n_embd / c.n_head)));
        if (c.arch == "gemma2") {
            c.swa_pattern = 2;
            c.attn_softcap = float(f.get_float(key("attn_logit_softcapping"), 0.0));
            c.final_softcap = float(f.get_float(key("final_logit_softcapping"), 0.0));
        } else {
            c.qk_norm = true;
            // llama.cpp assumes 6 and 10000 for gemma3; read the keys where a file has them.
            c.swa_pattern = gguf_swa_pattern(f, key("attention.sliding_window_pattern"), c.n_layer, 6);
            c.rope_theta_local = float(f.get_float(key("rope.freq_base_swa"), 10000.0));
            const std::string st = f.get_string(key("rope.scaling.type"));
            if (st == "linear") c.rope_linear = float(f.get_float(key("rope.scaling.factor"), 0.0));
        }
    }
    if (c.arch != "gemma3") {
        const std::string st = f.get_string(key("rope.scaling.type"));
        if (!st.empty() && st != "none" && st != "linear" && st != "llama3")
            throw file_error(f.path(), "unsupported rope scaling type '" + st + "'");
        if (st == "linear") c.rope_linear = float(f.get_float(key("rope.scaling.factor"), 0.0));
    }
}

std::string arch_features(const ModelConfig& c) {
    std::string s;
    auto add = [&](const std::string& f) { s += (s.empty() ? "" : ", ") + f; };
    auto num = [](float v) {
        char b[32];
        std::snprintf(b, sizeof b, "%g", double(v));
        return std::string(b);
    };
    if (c.attn_bias) add("q/k/v biases");
    if (c.qk_norm) add("q/k norms");
    if (c.sliding_window > 0)
        add("sliding window " + std::to_string(c.sliding_window) +
            (c.swa_pattern > 0 ? " (one layer in " + std::to_string(c.swa_pattern) + " attends globally)" : " (every layer)"));
    if (c.embed_scale) add("scaled embeddings");
    if (c.sandwich_norms) add("post-attention/MLP norms");
    if (c.gelu_mlp) add("GeGLU");
    if (c.attn_softcap > 0) add("attention soft-cap " + num(c.attn_softcap));
    if (c.final_softcap > 0) add("logit soft-cap " + num(c.final_softcap));
    if (c.attn_scale > 0) add("attention scale " + num(c.attn_scale));
    if (c.rope_theta_local > 0) add("local rope theta " + num(c.rope_theta_local));
    if (c.rope_linear > 0) add("linear rope scaling " + num(c.rope_linear));
    if (!c.rope_ext_factors.empty()) add("LongRoPE (short factors, attention factor " + num(c.rope_attn_factor) + ")");
    return s;
}

void check_rope_ext_factors(const ModelConfig& c, const std::string& source) {
    if (c.rope_ext_factors.empty()) return;
    if (c.rope_ext_factors.size() != size_t(c.head_dim / 2))
        throw file_error(source, "LongRoPE has " + std::to_string(c.rope_ext_factors.size()) + " factors for " +
                                     std::to_string(c.head_dim / 2) + " rotary frequencies");
    for (float v : c.rope_ext_factors)
        if (!(v > 0) || !std::isfinite(v)) throw file_error(source, "LongRoPE factor " + std::to_string(v) + " is not positive");
    if (!(c.rope_attn_factor >= 0) || !std::isfinite(c.rope_attn_factor))
        throw file_error(source, "LongRoPE attention factor " + std::to_string(c.rope_attn_factor) + " is invalid");
}

std::vector<float> rope_inv_freq_ext(const ModelConfig& c) {
    std::vector<float> f = rope_inv_freq(c);
    if (c.rope_ext_factors.size() == f.size())
        for (size_t i = 0; i < f.size(); ++i) f[i] /= c.rope_ext_factors[i];
    return f;
}

bool norm_weights_offset_by_one(const ModelConfig& c) { return c.arch == "gemma2" || c.arch == "gemma3"; }

std::string hf_source_name(const ModelConfig& c, const std::string& canonical) {
    if (c.arch != "gemma2" && c.arch != "gemma3") return canonical;
    // Gemma names its four block norms differently.
    static const std::pair<const char*, const char*> ren[] = {
        {".post_attention_layernorm.weight", ".pre_feedforward_layernorm.weight"},
        {".post_attn_out_norm.weight", ".post_attention_layernorm.weight"},
    };
    for (auto& [from, to] : ren) {
        const size_t n = std::strlen(from);
        if (canonical.size() > n && canonical.compare(canonical.size() - n, n, from) == 0)
            return canonical.substr(0, canonical.size() - n) + to;
    }
    return canonical;
}

std::string gguf_tensor_name(const std::string& hf) {
    if (hf == "model.embed_tokens.weight") return "token_embd.weight";
    if (hf == "model.norm.weight") return "output_norm.weight";
    if (hf == "lm_head.weight") return "output.weight";
    // llama.cpp's names (gguf-py constants.py TENSOR_NAMES), per layer.
    static const std::pair<const char*, const char*> parts[] = {
        {"input_layernorm", "attn_norm"},         {"post_attention_layernorm", "ffn_norm"},
        {"self_attn.q_proj", "attn_q"},           {"self_attn.k_proj", "attn_k"},
        {"self_attn.v_proj", "attn_v"},           {"self_attn.o_proj", "attn_output"},
        {"self_attn.qkv_proj", "attn_qkv"},       {"self_attn.q_norm", "attn_q_norm"},
        {"self_attn.k_norm", "attn_k_norm"},      {"post_attn_out_norm", "post_attention_norm"},
        {"post_feedforward_layernorm", "post_ffw_norm"},
        {"mlp.gate_proj", "ffn_gate"},            {"mlp.up_proj", "ffn_up"},
        {"mlp.down_proj", "ffn_down"},            {"mlp.gate_up_proj", "ffn_up"},  // phi3: fused in ffn_up
    };
    // model.layers.<i>.<part>.weight|bias
    const std::string pre = "model.layers.";
    if (hf.rfind(pre, 0) == 0) {
        const size_t dot = hf.find('.', pre.size());
        const size_t last = hf.rfind('.');
        if (dot == std::string::npos || last <= dot) return hf;
        const std::string idx = hf.substr(pre.size(), dot - pre.size());
        const std::string part = hf.substr(dot + 1, last - dot - 1);
        const std::string kind = hf.substr(last);  // ".weight" or ".bias"
        for (auto& [h, g] : parts)
            if (part == h) return "blk." + idx + "." + g + kind;
    }
    return hf;
}

}  // namespace ap
