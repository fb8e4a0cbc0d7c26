// Our any-precision checkpoint: metadata (config, tokenizer, quantization
// record), bitplanes and tables, then the model built from them.
#include "anyprec_checkpoint.h"
#include "fuzz_input.h"
#include "model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    apfuzz::MemFile f(data, size);
    apfuzz::expect_clean([&] { (void)ap::read_checkpoint(f.path()); });
    return 0;
}
