// SentencePiece-style BPE as llama.cpp runs it for "llama" vocabularies:
// start from single characters, repeatedly merge the adjacent pair whose
// concatenation is the vocabulary piece with the highest score, then map
// leftover unknown characters to byte-fallback tokens <0xXX>.
#pragma once
#include "token_index.h"

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace ap {

struct SpmVocab {
    const TokenIndex* index = nullptr;
    const std::vector<float>* scores = nullptr;  // by token id
    std::array<int32_t, 256> byte_tokens{};      // id of <0xXX>, -1 if absent
    int32_t unk_id = -1;
};

// text must already have spaces replaced by U+2581 (and the prefix added).
// Throws ap::Error if a byte has neither a byte token nor an unknown token.
void spm_encode(const SpmVocab& vocab, std::string_view text, std::vector<int32_t>& out);

}  // namespace ap
