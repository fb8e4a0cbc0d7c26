// Encode/decode of arbitrary bytes with a byte-level vocabulary that has a
// token for every byte (the tiny test model's, GPT-2 pre-tokenizer) and a
// SentencePiece one with byte fallback: decode(encode(x)) must give x back.
#include "fuzz_input.h"
#include "tiny_model.h"
#include "tokenizer.h"

#include <cstdlib>
#include <memory>

namespace {

const ap::Tokenizer& byte_level(const std::string& pre) {
    static std::map<std::string, std::unique_ptr<ap::Tokenizer>> cache;
    auto& t = cache[pre];
    if (!t) {
        const aptest::TinyModel m = aptest::make_tiny_model(3, false);
        ap::TokenizerData d;
        d.pretokenizer = pre;
        d.tokens = m.tokens;
        d.merges = m.merges;
        d.token_types.assign(m.tokens.size(), 1);
        for (int i = m.bos(); i < m.n_vocab(); ++i) d.token_types[i] = 3;
        t = std::make_unique<ap::Tokenizer>(d);
    }
    return *t;
}

const ap::Tokenizer& sentencepiece() {
    static std::unique_ptr<ap::Tokenizer> t;
    if (!t) {
        ap::TokenizerData d;
        d.kind = ap::TokenizerData::Kind::SentencePieceBPE;
        d.tokens = {"<unk>", "<s>", "</s>"};
        d.token_types = {2, 3, 3};
        for (int b = 0; b < 256; ++b) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "<0x%02X>", b);
            d.tokens.push_back(buf);
            d.token_types.push_back(6);
        }
        for (const char* p : {"\xE2\x96\x81", "t", "h", "e", "th", "the", "\xE2\x96\x81the"}) d.tokens.push_back(p), d.token_types.push_back(1);
        d.scores.assign(d.tokens.size(), 0.f);
        for (size_t i = 0; i < d.scores.size(); ++i) d.scores[i] = -float(i);
        d.unk_id = 0, d.bos_id = 1, d.eos_id = 2;
        d.add_space_prefix = true;
        t = std::make_unique<ap::Tokenizer>(d);
    }
    return *t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    for (const char* pre : {"gpt2", "smollm", "llama3", "qwen2"}) {
        const ap::Tokenizer& t = byte_level(pre);
        const auto ids = t.encode(text, false, false);
        if (t.decode(ids) != text) std::abort();  // every byte has a token: lossless
        (void)t.encode(text, false, true);
    }
    const ap::Tokenizer& s = sentencepiece();
    const auto ids = s.encode(text, false, false);
    // Byte fallback covers every byte; only a literal U+2581 (SentencePiece's
    // own space marker) legitimately decodes to a space.
    if (text.find("\xE2\x96\x81") == std::string_view::npos && s.decode(ids) != text) std::abort();
    return 0;
}
