// TokenizerData from GGUF metadata (the tokenizer.ggml.* keys llama.cpp writes).
#include "error.h"
#include "gguf.h"
#include "tokenizer.h"
#include "tokenizer_common.h"

#include <algorithm>
#include <cstdint>

namespace ap {

namespace {

// GGUF pre-tokenizer names -> ours; llama.cpp knows many more, the rest fall
// back to the GPT-2 pattern.
std::string map_pre(const std::string& pre) {
    if (pre == "smollm") return "smollm";
    if (pre == "llama-bpe" || pre == "llama3") return "llama3";
    if (pre == "qwen2") return "qwen2";
    return "gpt2";
}

const GgufValue* array_of(const GgufFile& f, const std::string& key, size_t n) {
    const GgufValue* v = f.find(key);
    if (!v) return nullptr;
    if (v->type != GgufValueType::ARRAY)
        throw file_error(f.path(), key + " is not an array");
    if (v->size() != n)
        throw file_error(f.path(), key + " has " + std::to_string(v->size()) + " entries for " +
                                       std::to_string(n) + " tokens");
    return v;
}

bool get_bool(const GgufFile& f, const std::string& key, bool def) {
    const GgufValue* v = f.find(key);
    return v ? v->as_int() != 0 : def;
}

}  // namespace

TokenizerData tokenizer_data_from_gguf(const GgufFile& f) {
    TokenizerData d;
    const std::string model = f.get_string("tokenizer.ggml.model");
    if (model.empty()) throw file_error(f.path(), "no tokenizer.ggml.model (the file carries no tokenizer)");
    if (model == "llama") {
        d.kind = TokenizerData::Kind::SentencePieceBPE;
    } else if (model == "gpt2") {
        d.kind = TokenizerData::Kind::ByteBPE;
    } else {
        throw file_error(f.path(), "unsupported tokenizer.ggml.model '" + model + "' (supported: llama, gpt2)");
    }
    const bool spm = d.kind == TokenizerData::Kind::SentencePieceBPE;

    d.tokens = f.get_string_array("tokenizer.ggml.tokens");
    if (d.tokens.empty()) throw file_error(f.path(), "no tokenizer.ggml.tokens");
    const size_t n = d.tokens.size();

    if (const GgufValue* s = array_of(f, "tokenizer.ggml.scores", n)) {
        d.scores.reserve(n);
        for (size_t k = 0; k < n; ++k) d.scores.push_back(static_cast<float>(s->element(k).as_double()));
    } else if (spm) {
        throw file_error(f.path(), "no tokenizer.ggml.scores (needed by a SentencePiece vocabulary)");
    }
    if (const GgufValue* t = array_of(f, "tokenizer.ggml.token_type", n)) {
        d.token_types.reserve(n);
        for (size_t k = 0; k < n; ++k) d.token_types.push_back(static_cast<int32_t>(t->element(k).as_int()));
    } else {
        d.token_types.assign(n, 1);
    }
    d.merges = f.get_string_array("tokenizer.ggml.merges");
    if (!spm && d.merges.empty()) throw file_error(f.path(), "no tokenizer.ggml.merges (needed by a BPE vocabulary)");
    if (!spm) d.pretokenizer = map_pre(f.get_string("tokenizer.ggml.pre"));

    auto id_of = [&](const char* key, const char* spm_default_text) -> int32_t {
        const int64_t id = f.get_int(key, -2);
        if (id == 0xFFFFFFFFll) return -1;  // some converters write -1 as a uint32
        if (id != -2) return static_cast<int32_t>(std::clamp<int64_t>(id, -1, INT32_MAX));
        return spm && spm_default_text ? tokenizer_find_text(d, spm_default_text) : -1;
    };
    d.bos_id = id_of("tokenizer.ggml.bos_token_id", "<s>");
    d.eos_id = id_of("tokenizer.ggml.eos_token_id", "</s>");
    d.unk_id = id_of("tokenizer.ggml.unknown_token_id", "<unk>");
    d.pad_id = id_of("tokenizer.ggml.padding_token_id", nullptr);
    d.add_bos = get_bool(f, "tokenizer.ggml.add_bos_token", spm);
    d.add_space_prefix = get_bool(f, "tokenizer.ggml.add_space_prefix", spm);
    d.eog_ids = tokenizer_eog_ids(d, {f.get_int("tokenizer.ggml.eot_token_id", -1),
                                      f.get_int("tokenizer.ggml.eom_token_id", -1)});
    tokenizer_validate(d, f.path());
    return d;
}

}  // namespace ap
