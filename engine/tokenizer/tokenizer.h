// Tokenizers for Llama-family models: byte-level BPE (GPT-2 style: SmolLM2,
// Llama 3, Qwen2) and SentencePiece-style BPE with byte fallback (Llama 2,
// TinyLlama). Built from GGUF vocab/merges or from a tokenizer.json.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ap {

class GgufFile;

// Format-neutral description of a vocabulary; also what our checkpoint stores.
struct TokenizerData {
    enum class Kind { ByteBPE, SentencePieceBPE };
    Kind kind = Kind::ByteBPE;
    // Pre-tokenizer for byte-level BPE: "gpt2" (GPT-2 regex), "smollm"
    // (GPT-2 regex with every digit split off), "llama3", "qwen2".
    std::string pretokenizer = "gpt2";
    std::vector<std::string> tokens;  // byte-level: GPT-2 byte-to-unicode form; SPM: with U+2581 for space
    std::vector<float> scores;        // SPM merge priorities (may be empty for ByteBPE)
    std::vector<int32_t> token_types; // GGUF token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 6 byte
    std::vector<std::string> merges;  // "left right", highest priority first
    int32_t bos_id = -1, eos_id = -1, unk_id = -1, pad_id = -1;
    std::vector<int32_t> eog_ids;     // every id that ends a generation (eos, <|im_end|>, <|eot_id|>, ...)
    bool add_bos = false;             // does the model's tokenizer prepend BOS by default
    bool add_space_prefix = true;     // SPM only: prepend U+2581 to the text
};

// Throws ap::Error naming the file if the vocabulary is missing or malformed.
TokenizerData tokenizer_data_from_gguf(const GgufFile& f);
// tokenizer_json is the text of tokenizer.json; tokenizer_config_json may be "".
TokenizerData tokenizer_data_from_hf(const std::string& tokenizer_json, const std::string& tokenizer_config_json,
                                     const std::string& file_for_errors);
// Serialize to / from one JSON text (how our any-precision checkpoint stores it).
std::string tokenizer_data_to_json(const TokenizerData& d);
TokenizerData tokenizer_data_from_json(const std::string& json, const std::string& file_for_errors);

class Tokenizer {
public:
    explicit Tokenizer(TokenizerData d);
    ~Tokenizer();
    Tokenizer(const Tokenizer&) = delete;
    Tokenizer& operator=(const Tokenizer&) = delete;

    const TokenizerData& data() const { return d_; }
    int32_t n_vocab() const { return static_cast<int32_t>(d_.tokens.size()); }

    // Encodes text exactly as given. add_bos prepends BOS when the vocab has
    // one. parse_special: text spans equal to control/user-defined tokens
    // (e.g. "<|im_start|>") become those tokens instead of being split.
    std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special) const;
    // Bytes of `text` that a byte-level vocabulary has no token for: encode()
    // turns each into the unknown token (or throws when there is none), so a
    // caller can say so before it happens. Always 0 for SentencePiece
    // vocabularies, whose byte fallback covers what their pieces do not.
    size_t unencodable_bytes(std::string_view text) const;

    // Raw bytes of one token (byte-level decoding / byte-fallback applied;
    // control tokens decode to their text only if render_special).
    std::string token_bytes(int32_t id, bool render_special = false) const;
    // Whole-sequence decode (SPM: strips the single leading space of the first piece).
    std::string decode(const std::vector<int32_t>& ids, bool render_special = false) const;

    bool is_eog(int32_t id) const;
    bool is_control(int32_t id) const;
    int32_t find_token(std::string_view piece) const;  // -1 if absent (piece in stored form)

private:
    struct Impl;
    TokenizerData d_;
    std::unique_ptr<Impl> impl_;
};

// Streams token pieces as valid UTF-8: holds back an incomplete multi-byte
// sequence until the bytes that finish it arrive.
class Utf8StreamDecoder {
public:
    std::string push(const std::string& bytes);  // returns the complete part
    std::string flush();                         // whatever is left (invalid bytes as U+FFFD)
private:
    std::string pending_;
};

}  // namespace ap
