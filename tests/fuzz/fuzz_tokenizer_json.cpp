// Hugging Face tokenizer.json (+ an optional tokenizer_config.json after a
// NUL byte), then a tokenizer built from it encoding and decoding text.
#include "fuzz_input.h"
#include "tokenizer.h"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string all(reinterpret_cast<const char*>(data), size);
    const size_t nul = all.find('\0');
    const std::string tok_json = all.substr(0, nul);
    const std::string cfg_json = nul == std::string::npos ? "" : all.substr(nul + 1);
    apfuzz::expect_clean([&] {
        ap::Tokenizer t(ap::tokenizer_data_from_hf(tok_json, cfg_json, "tokenizer.json"));
        const auto ids = t.encode("Hello world, <|im_start|>the 123 caf\xc3\xa9!", true, true);
        (void)t.decode(ids, true);
        (void)ap::tokenizer_data_from_json(ap::tokenizer_data_to_json(t.data()), "round-trip");
    });
    return 0;
}
