// Hand-written equivalents of the regex pre-tokenizers of byte-level BPE
// models. Each splits text into pieces that BPE then encodes independently.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace ap {

// Which split pattern (see pretokenizer.cpp for the regexes they implement).
enum class PreTokenizerKind { Gpt2, SmolLM, Llama3, Qwen2 };

// "gpt2", "smollm", "llama3", "qwen2"; returns false for any other name.
bool pretokenizer_from_name(std::string_view name, PreTokenizerKind& out);
const char* pretokenizer_name(PreTokenizerKind k);

// Appends the pieces of text to out, in order; together they cover text
// exactly. Invalid UTF-8 bytes count as punctuation-like characters.
void pretokenize(PreTokenizerKind kind, std::string_view text, std::vector<std::string_view>& out);

}  // namespace ap
