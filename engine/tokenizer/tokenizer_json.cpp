// TokenizerData <-> one JSON text, as stored in our any-precision checkpoint.
// Lossless: strings that are not valid UTF-8 (JSON cannot hold them) are
// written as {"hex": ...}, and non-finite scores as strings.
#include "error.h"
#include "tokenizer.h"
#include "tokenizer_common.h"
#include "utf8.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

namespace ap {

namespace {

using json = nlohmann::json;

constexpr const char* kFormat = "anyprec-tokenizer";
constexpr int kVersion = 1;

json string_to_json(const std::string& s) {
    if (utf8_is_valid(s)) return s;
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned char c : s) hex += kHex[c >> 4], hex += kHex[c & 15];
    return json{{"hex", hex}};
}

std::string string_from_json(const json& j, const std::string& file) {
    if (j.is_string()) return j.get<std::string>();
    const std::string hex = j.at("hex").get<std::string>();
    if (hex.size() % 2) throw file_error(file, "odd-length hex string in tokenizer");
    auto nib = [&](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        throw file_error(file, "bad hex digit in tokenizer");
    };
    std::string s;
    for (size_t i = 0; i < hex.size(); i += 2) s += static_cast<char>(nib(hex[i]) << 4 | nib(hex[i + 1]));
    return s;
}

json score_to_json(float f) {
    if (std::isfinite(f)) return f;
    return std::isnan(f) ? "nan" : (f > 0 ? "inf" : "-inf");
}

float score_from_json(const json& j, const std::string& file) {
    if (j.is_number()) return j.get<float>();
    const std::string s = j.get<std::string>();
    if (s == "inf") return std::numeric_limits<float>::infinity();
    if (s == "-inf") return -std::numeric_limits<float>::infinity();
    if (s == "nan") return std::numeric_limits<float>::quiet_NaN();
    throw file_error(file, "bad tokenizer score '" + s + "'");
}

}  // namespace

std::string tokenizer_data_to_json(const TokenizerData& d) {
    json j;
    j["format"] = kFormat;
    j["version"] = kVersion;
    j["kind"] = d.kind == TokenizerData::Kind::ByteBPE ? "byte_bpe" : "sentencepiece_bpe";
    j["pretokenizer"] = d.pretokenizer;
    json tokens = json::array(), merges = json::array(), scores = json::array();
    for (const auto& t : d.tokens) tokens.push_back(string_to_json(t));
    for (const auto& m : d.merges) merges.push_back(string_to_json(m));
    for (float s : d.scores) scores.push_back(score_to_json(s));
    j["tokens"] = std::move(tokens);
    j["scores"] = std::move(scores);
    j["token_types"] = d.token_types;
    j["merges"] = std::move(merges);
    j["bos_id"] = d.bos_id;
    j["eos_id"] = d.eos_id;
    j["unk_id"] = d.unk_id;
    j["pad_id"] = d.pad_id;
    j["eog_ids"] = d.eog_ids;
    j["add_bos"] = d.add_bos;
    j["add_space_prefix"] = d.add_space_prefix;
    return j.dump();
}

TokenizerData tokenizer_data_from_json(const std::string& text, const std::string& file) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        throw file_error(file, std::string("tokenizer is not valid JSON: ") + e.what());
    }
    try {
        if (j.value("format", "") != kFormat) throw file_error(file, "not an anyprec tokenizer description");
        if (j.at("version").get<int>() != kVersion)
            throw file_error(file, "unsupported tokenizer description version " + j.at("version").dump());
        TokenizerData d;
        const std::string kind = j.at("kind").get<std::string>();
        if (kind == "byte_bpe") d.kind = TokenizerData::Kind::ByteBPE;
        else if (kind == "sentencepiece_bpe") d.kind = TokenizerData::Kind::SentencePieceBPE;
        else throw file_error(file, "unknown tokenizer kind '" + kind + "'");
        d.pretokenizer = j.at("pretokenizer").get<std::string>();
        for (const json& t : j.at("tokens")) d.tokens.push_back(string_from_json(t, file));
        for (const json& s : j.at("scores")) d.scores.push_back(score_from_json(s, file));
        d.token_types = j.at("token_types").get<std::vector<int32_t>>();
        for (const json& m : j.at("merges")) d.merges.push_back(string_from_json(m, file));
        d.bos_id = j.at("bos_id").get<int32_t>();
        d.eos_id = j.at("eos_id").get<int32_t>();
        d.unk_id = j.at("unk_id").get<int32_t>();
        d.pad_id = j.at("pad_id").get<int32_t>();
        d.eog_ids = j.at("eog_ids").get<std::vector<int32_t>>();
        d.add_bos = j.at("add_bos").get<bool>();
        d.add_space_prefix = j.at("add_space_prefix").get<bool>();
        tokenizer_validate(d, file);
        return d;
    } catch (const json::exception& e) {
        throw file_error(file, std::string("malformed tokenizer description: ") + e.what());
    }
}

}  // namespace ap
