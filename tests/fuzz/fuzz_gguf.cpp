// GGUF: header, metadata, tensor directory, tokenizer, model config and
// dequantization of every tensor, as `anyprec info` / `run` would load it.
#include "fuzz_input.h"
#include "gguf.h"
#include "model.h"
#include "tokenizer.h"

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    apfuzz::MemFile f(data, size);
    apfuzz::expect_clean([&] {
        ap::GgufFile g(f.path());
        for (const auto& [key, v] : g.metadata()) {
            (void)key;
            for (size_t k = 0; k < v.size() && k < 64; ++k) (void)v.element(k);
        }
        for (const ap::GgufTensor& t : g.tensors()) {
            if (t.n_elements() > (1 << 16)) continue;
            std::vector<float> out(size_t(t.n_elements()));
            ap::dequantize_row(t.type, t.data, out.data(), t.n_elements());
        }
        apfuzz::expect_clean([&] { ap::Tokenizer tok(ap::tokenizer_data_from_gguf(g)); (void)tok.encode("Hello, world", true, true); });
    });
    apfuzz::expect_clean([&] { (void)ap::load_model(f.path()); });
    return 0;
}
