// Hugging Face folder -> Model (safetensors in F32/F16/BF16, rotate-half layout as is;
// per-architecture names and norm conventions from archs.h).
#include "archs.h"
#include "error.h"
#include "model_assembly.h"
#include "model_loaders.h"
#include "safetensors.h"

#include <cstring>
#include <nlohmann/json.hpp>

namespace ap {

static std::string chat_template_from_config(const std::string& tokenizer_config_json) {
    if (tokenizer_config_json.empty()) return {};
    try {
        auto j = nlohmann::json::parse(tokenizer_config_json);
        if (!j.contains("chat_template")) return {};
        const auto& t = j["chat_template"];
        if (t.is_string()) return t.get<std::string>();
        if (t.is_array())  // list of named templates: take "default" or the first
            for (const auto& e : t)
                if (e.value("name", "") == "default" || &e == &t.front()) return e.value("template", "");
    } catch (const nlohmann::json::exception&) {
    }
    return {};
}

std::unique_ptr<Model> load_hf_model(const std::string& dir, const ProgressFn& progress) {
    HfFolder hf = open_hf_folder(dir);
    auto m = std::make_unique<Model>();
    m->path = dir;
    m->format = "hf";
    m->cfg = config_from_hf(hf.config_json, dir + "/config.json");
    if (hf.tokenizer_json.empty()) throw file_error(dir, "missing tokenizer.json (the model folder has no tokenizer)");
    m->tok = std::make_unique<Tokenizer>(
        tokenizer_data_from_hf(hf.tokenizer_json, hf.tokenizer_config_json, dir + "/tokenizer.json"));
    m->chat_template_text = chat_template_from_config(hf.tokenizer_config_json);
    m->chat_format = detect_chat_format(m->chat_template_text, &m->chat_warning);

    std::string dtypes;
    const bool plus_one = norm_weights_offset_by_one(m->cfg);
    // A vision-language checkpoint's language model (its vision tower is left unread).
    const std::string prefix = language_model_prefix(hf.config_json);
    auto find = [&](const std::string& canonical, const std::vector<int64_t>& shape) {
        const std::string name = prefix + hf_source_name(m->cfg, canonical);
        const StTensor* t = hf.find(name);
        if (!t) throw file_error(dir, "missing tensor " + name);
        if (t->shape != shape) {
            throw file_error(hf.file_of(name), "tensor " + name + " has shape " + shape_string(t->shape) + ", expected " + shape_string(shape));
        }
        if (dtypes.find(st_dtype_name(t->dtype)) == std::string::npos)
            dtypes += (dtypes.empty() ? "" : "/") + std::string(st_dtype_name(t->dtype));
        return t;
    };
    auto fetch = [&](const std::string& canonical, const std::vector<int64_t>& shape) {
        const StTensor* t = find(canonical, shape);
        std::vector<float> v = st_to_f32(*t, hf.file_of(t->name));
        // Gemma's RMSNorm scales by (1 + w): store 1 + w, as GGUF files do.
        if (plus_one && shape.size() == 1 && canonical.size() > 11 &&
            canonical.compare(canonical.size() - 11, 11, "norm.weight") == 0)
            for (float& x : v) x += 1.f;
        return v;
    };
    // Matrices stored as fp16/bf16 stay 16-bit in memory.
    bool any16 = false, any32 = false;
    auto matrix = [&](const std::string& canonical, const std::vector<int64_t>& shape, Linear& l) {
        const StTensor* t = find(canonical, shape);
        if (t->dtype == StDType::F16 || t->dtype == StDType::BF16) {
            l.dtype = t->dtype == StDType::F16 ? DenseType::F16 : DenseType::BF16;
            l.dense16.resize(size_t(t->n_elements()));
            std::memcpy(l.dense16.data(), t->data, l.dense16.size() * 2);
            MappedFile::drop_pages(t->data, l.dense16.size() * 2);
            any16 = true;
        } else {
            l.dense = st_to_f32(*t, hf.file_of(t->name));
            any32 = true;
        }
    };
    auto has = [&](const std::string& name) { return hf.find(prefix + hf_source_name(m->cfg, name)) != nullptr; };
    assemble_dense_model(*m, fetch, has, progress, matrix);
    m->source_note = "Hugging Face safetensors (" + dtypes + "), " +
                     (any16 ? (any32 ? "16-bit and fp32" : "16-bit as stored") : "fp32") + " in memory";
    return m;
}

}  // namespace ap
