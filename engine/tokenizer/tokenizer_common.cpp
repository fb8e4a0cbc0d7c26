#include "tokenizer_common.h"

#include "error.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace ap {

namespace {

constexpr std::array<std::string_view, 6> kEogTexts = {
    "<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "<|endoftext|>", "</s>", "<|end|>",
};
constexpr int32_t kControl = 3;

}  // namespace

int32_t tokenizer_find_text(const TokenizerData& d, const std::string& t) {
    auto it = std::find(d.tokens.begin(), d.tokens.end(), t);
    return it == d.tokens.end() ? -1 : static_cast<int32_t>(it - d.tokens.begin());
}

std::vector<int32_t> tokenizer_eog_ids(const TokenizerData& d, const std::vector<int64_t>& extra) {
    std::vector<int32_t> ids;
    const int64_t n = static_cast<int64_t>(d.tokens.size());
    if (d.eos_id >= 0) ids.push_back(d.eos_id);
    for (int64_t id : extra)
        if (id >= 0 && id < n) ids.push_back(static_cast<int32_t>(id));
    for (size_t i = 0; i < d.tokens.size() && i < d.token_types.size(); ++i)
        if (d.token_types[i] == kControl &&
            std::find(kEogTexts.begin(), kEogTexts.end(), d.tokens[i]) != kEogTexts.end())
            ids.push_back(static_cast<int32_t>(i));
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

void tokenizer_validate(const TokenizerData& d, const std::string& file) {
    const size_t n = d.tokens.size();
    if (n == 0) throw file_error(file, "tokenizer has no tokens");
    if (!d.scores.empty() && d.scores.size() != n)
        throw file_error(file, "tokenizer has " + std::to_string(d.scores.size()) + " scores for " +
                                   std::to_string(n) + " tokens");
    if (!d.token_types.empty() && d.token_types.size() != n)
        throw file_error(file, "tokenizer has " + std::to_string(d.token_types.size()) + " token types for " +
                                   std::to_string(n) + " tokens");
    auto check = [&](int64_t id, const char* what) {
        if (id < -1 || id >= static_cast<int64_t>(n))
            throw file_error(file, std::string("tokenizer ") + what + " id " + std::to_string(id) +
                                       " is outside the vocabulary of " + std::to_string(n));
    };
    check(d.bos_id, "BOS");
    check(d.eos_id, "EOS");
    check(d.unk_id, "unknown-token");
    check(d.pad_id, "padding");
    for (int32_t id : d.eog_ids) check(id, "end-of-generation");
}

}  // namespace ap
