// TokenizerData from a Hugging Face tokenizer.json (+ tokenizer_config.json).
// Only BPE models are accepted; the pre-tokenizer structure must be one we
// reproduce exactly, otherwise loading fails rather than tokenizing wrongly.
#include "error.h"
#include "input_limits.h"
#include "tokenizer.h"
#include "tokenizer_common.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string_view>
#include <unordered_map>

namespace ap {

namespace {

using json = nlohmann::json;

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";

constexpr std::string_view kGpt2Regex =
    R"re('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)re";
constexpr std::string_view kLlama3Regex =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";
constexpr std::string_view kQwen2Regex =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

json parse(const std::string& text, const std::string& file) {
    try {
        return json::parse(text);
    } catch (const json::exception& e) {
        throw file_error(file, std::string("not valid JSON: ") + e.what());
    }
}

// A component and, if it is a Sequence, its parts (key "pretokenizers" or "normalizers").
std::vector<json> flatten(const json& j, const char* list_key) {
    if (!j.is_object()) return {};
    if (j.value("type", "") == "Sequence" && j.contains(list_key) && j[list_key].is_array())
        return j[list_key].get<std::vector<json>>();
    return {j};
}

bool has_type(const std::vector<json>& parts, const char* type) {
    return std::any_of(parts.begin(), parts.end(), [&](const json& p) { return p.value("type", "") == type; });
}

// Which of our pre-tokenizers the tokenizer.json pre_tokenizer amounts to.
std::string byte_level_pretokenizer(const json& pt, const std::string& file) {
    const std::vector<json> parts = flatten(pt, "pretokenizers");
    std::vector<std::string> shape;
    std::string regex;
    for (const json& p : parts) {
        const std::string type = p.value("type", "");
        if (type == "ByteLevel") {
            shape.push_back(p.value("use_regex", true) ? "ByteLevel+regex" : "ByteLevel");
        } else if (type == "Digits") {
            shape.push_back(p.value("individual_digits", false) ? "Digits" : "DigitRuns");
        } else if (type == "Split" && p.contains("pattern") && p["pattern"].contains("Regex") &&
                   p.value("behavior", "") == "Isolated" && !p.value("invert", false)) {
            shape.push_back("Split");
            regex = p["pattern"]["Regex"].get<std::string>();
        } else {
            shape.push_back(type.empty() ? "?" : type);
        }
    }
    using V = std::vector<std::string>;
    if (shape == V{"ByteLevel+regex"}) return "gpt2";
    if (shape == V{"Digits", "ByteLevel+regex"}) return "smollm";
    if (shape == V{"Split", "ByteLevel"}) {
        if (regex == kLlama3Regex) return "llama3";
        if (regex == kQwen2Regex) return "qwen2";
        if (regex == kGpt2Regex) return "gpt2";
        throw file_error(file, "unsupported pre-tokenizer split pattern: " + regex);
    }
    std::string desc;
    for (const auto& s : shape) desc += (desc.empty() ? "" : ", ") + s;
    throw file_error(file, "unsupported byte-level pre-tokenizer [" + desc + "]");
}

// Special token strings in tokenizer_config.json are either "text" or {"content": "text", ...}.
std::string token_text(const json& cfg, const char* key) {
    if (!cfg.contains(key)) return "";
    const json& v = cfg[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
    return "";
}

// "a b" or ["a", "b"] -> {"a", "b"}.
std::pair<std::string, std::string> merge_pair(const json& m, const std::string& file) {
    if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const size_t sp = s.find(' ');
        if (sp == std::string::npos) throw file_error(file, "merge without a space: '" + s + "'");
        return {s.substr(0, sp), s.substr(sp + 1)};
    }
    if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
        return {m[0].get<std::string>(), m[1].get<std::string>()};
    throw file_error(file, "malformed merge entry " + m.dump());
}

}  // namespace

TokenizerData tokenizer_data_from_hf(const std::string& tokenizer_json, const std::string& tokenizer_config_json,
                                     const std::string& file) {
    const json j = parse(tokenizer_json, file);
    const json cfg = tokenizer_config_json.empty() ? json::object() : parse(tokenizer_config_json, file);
    try {
        if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
            throw file_error(file, "no \"model\" object");
        const json& model = j["model"];
        const std::string type = model.value("type", "BPE");
        if (type != "BPE") throw file_error(file, "unsupported tokenizer model type '" + type + "' (only BPE)");
        if (!model.contains("vocab") || !model["vocab"].is_object()) throw file_error(file, "model has no vocab");

        TokenizerData d;
        // Ids may have holes (added tokens beyond the base vocabulary); holes
        // stay unused tokens. Every id is range-checked before it sizes
        // anything (an id of 2^63-1 must not wrap `id + 1`), and the holes may
        // not outnumber the entries, so what we allocate follows the file.
        const json added = j.value("added_tokens", json::array());
        if (!added.is_array()) throw file_error(file, "\"added_tokens\" is not an array");
        auto checked_id = [&](const json& id, const std::string& what) -> int64_t {
            if (!id.is_number_integer()) throw file_error(file, "token id of " + what + " is not an integer");
            if (id.is_number_unsigned() && id.get<uint64_t>() >= uint64_t(limits::kMaxVocab))
                throw file_error(file, "token id " + id.dump() + " of " + what + " is out of range (ids must be below " +
                                           std::to_string(limits::kMaxVocab) + ")");
            const int64_t i = id.get<int64_t>();
            if (i < 0) throw file_error(file, "negative token id " + std::to_string(i) + " for " + what);
            if (i >= limits::kMaxVocab)
                throw file_error(file, "token id " + std::to_string(i) + " of " + what +
                                           " is out of range (ids must be below " + std::to_string(limits::kMaxVocab) + ")");
            return i;
        };
        int64_t n = 0, entries = 0;
        for (const auto& [text, id] : model["vocab"].items()) n = std::max(n, checked_id(id, "'" + text + "'") + 1), ++entries;
        for (const json& a : added) n = std::max(n, checked_id(a.at("id"), "an added token") + 1), ++entries;
        if (n <= 0) throw file_error(file, "empty vocabulary");
        if (n - entries > std::max<int64_t>(entries, limits::kMaxVocabHoles))
            throw file_error(file, "vocabulary ids run to " + std::to_string(n - 1) + " but only " + std::to_string(entries) +
                                       " tokens are listed (ids too sparse; corrupt file?)");
        d.tokens.assign(n, "");
        d.token_types.assign(n, 5);
        for (const auto& [text, id] : model["vocab"].items()) {
            const int64_t i = id.get<int64_t>();  // checked above
            d.tokens[i] = text;
            d.token_types[i] = 1;
        }
        for (const json& a : added) {
            const int64_t i = a.at("id").get<int64_t>();  // checked above
            d.tokens[i] = a.at("content").get<std::string>();
            d.token_types[i] = a.value("special", false) ? 3 : 4;
        }
        for (int64_t i = 0; i < n; ++i)
            if (d.token_types[i] == 5) d.tokens[i] = "[PAD" + std::to_string(i) + "]";

        std::vector<std::pair<std::string, std::string>> pairs;
        for (const json& m : model.value("merges", json::array())) pairs.push_back(merge_pair(m, file));
        d.merges.reserve(pairs.size());
        for (const auto& [l, r] : pairs) d.merges.push_back(l + " " + r);

        const json pre = j.value("pre_tokenizer", json());
        const std::vector<json> pre_parts = flatten(pre, "pretokenizers");
        const std::vector<json> norm_parts = flatten(j.value("normalizer", json()), "normalizers");
        const std::vector<json> dec_parts = flatten(j.value("decoder", json()), "decoders");
        const bool byte_level = has_type(pre_parts, "ByteLevel") || has_type(dec_parts, "ByteLevel");
        const bool metaspace = has_type(pre_parts, "Metaspace") ||
                               std::any_of(norm_parts.begin(), norm_parts.end(), [](const json& p) {
                                   return p.value("type", "") == "Replace" && p.value("content", "") == kSpmSpace;
                               });
        if (model.value("byte_fallback", false) || (!byte_level && metaspace)) {
            d.kind = TokenizerData::Kind::SentencePieceBPE;
        } else if (byte_level) {
            d.kind = TokenizerData::Kind::ByteBPE;
        } else {
            throw file_error(file, "BPE tokenizer is neither byte-level nor SentencePiece-style");
        }
        const bool spm = d.kind == TokenizerData::Kind::SentencePieceBPE;

        const std::string unk_text = model.contains("unk_token") && model["unk_token"].is_string()
                                         ? model["unk_token"].get<std::string>()
                                         : "";
        if (spm) {
            if (!unk_text.empty()) {
                const int32_t u = tokenizer_find_text(d, unk_text);
                if (u >= 0) d.token_types[u] = 2;
            }
            for (int64_t i = 0; i < n; ++i) {
                const std::string& t = d.tokens[i];
                if (d.token_types[i] == 1 && t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>')
                    d.token_types[i] = 6;
            }
            // llama.cpp's SentencePiece merge wants a score per piece; the
            // tokenizer.json merge order is that ranking (the first merge
            // producing a piece gives its priority).
            std::unordered_map<std::string, int32_t> index;
            for (int64_t i = n - 1; i >= 0; --i) index[d.tokens[i]] = static_cast<int32_t>(i);
            d.scores.assign(n, -static_cast<float>(pairs.size() + 1));
            std::vector<bool> seen(n, false);
            for (size_t r = 0; r < pairs.size(); ++r) {
                auto it = index.find(pairs[r].first + pairs[r].second);
                if (it != index.end() && !seen[it->second]) d.scores[it->second] = -static_cast<float>(r), seen[it->second] = true;
            }
            bool prefix = std::any_of(norm_parts.begin(), norm_parts.end(), [](const json& p) {
                return p.value("type", "") == "Prepend" && p.value("prepend", "") == kSpmSpace;
            });
            for (const json& p : pre_parts)
                if (p.value("type", "") == "Metaspace")
                    prefix = prefix || (p.value("prepend_scheme", "always") != "never" && p.value("add_prefix_space", true));
            d.add_space_prefix = prefix;
        } else {
            d.pretokenizer = byte_level_pretokenizer(pre, file);
            d.add_space_prefix = false;
        }

        // BOS: the post-processor template says whether it is added; the config overrides.
        std::string bos_text = token_text(cfg, "bos_token");
        bool add_bos = spm;
        const json post = j.value("post_processor", json());
        if (post.is_object() && post.value("type", "") == "TemplateProcessing" && post.contains("single") &&
            post["single"].is_array()) {
            add_bos = false;
            const json& single = post["single"];
            if (!single.empty() && single[0].contains("SpecialToken")) {
                add_bos = true;
                if (bos_text.empty()) bos_text = single[0]["SpecialToken"].value("id", "");
            }
        }
        if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()) add_bos = cfg["add_bos_token"].get<bool>();
        if (bos_text.empty() && spm) bos_text = "<s>";
        std::string eos_text = token_text(cfg, "eos_token");
        if (eos_text.empty() && spm) eos_text = "</s>";

        auto id_for = [&](const std::string& text, const char* what) -> int32_t {
            if (text.empty()) return -1;
            const int32_t id = tokenizer_find_text(d, text);
            if (id < 0 && !cfg.empty() && cfg.contains(what))
                throw file_error(file, std::string(what) + " '" + text + "' is not in the vocabulary");
            return id;
        };
        d.bos_id = id_for(bos_text, "bos_token");
        d.eos_id = id_for(eos_text, "eos_token");
        d.unk_id = id_for(token_text(cfg, "unk_token").empty() ? unk_text : token_text(cfg, "unk_token"), "unk_token");
        d.pad_id = id_for(token_text(cfg, "pad_token"), "pad_token");
        d.add_bos = add_bos && d.bos_id >= 0;
        d.eog_ids = tokenizer_eog_ids(d, {});
        tokenizer_validate(d, file);
        return d;
    } catch (const json::exception& e) {
        throw file_error(file, std::string("unexpected tokenizer.json structure: ") + e.what());
    }
}

}  // namespace ap
