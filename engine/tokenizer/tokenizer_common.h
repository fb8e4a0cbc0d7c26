// Helpers shared by the tokenizer loaders (GGUF, tokenizer.json, our JSON).
#pragma once
#include "tokenizer.h"

#include <string>
#include <vector>

namespace ap {

// First id whose text is exactly t, or -1.
int32_t tokenizer_find_text(const TokenizerData& d, const std::string& t);

// eos, the extra ids given (eot, eom; -1 ignored), and every control token
// whose text is a well-known end-of-generation marker; sorted, unique.
std::vector<int32_t> tokenizer_eog_ids(const TokenizerData& d, const std::vector<int64_t>& extra);

// Checks sizes and id ranges; throws file_error(file, ...) on the first problem.
void tokenizer_validate(const TokenizerData& d, const std::string& file);

}  // namespace ap
