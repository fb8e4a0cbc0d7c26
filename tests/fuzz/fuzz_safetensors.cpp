// safetensors: the 8-byte length, the JSON header, dtypes, shapes and data
// offsets, and the conversion of every tensor to fp32.
#include "fuzz_input.h"
#include "safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    apfuzz::MemFile f(data, size);
    apfuzz::expect_clean([&] {
        ap::SafetensorsFile st(f.path());
        for (const auto& t : st.tensors())
            apfuzz::expect_clean([&] { (void)ap::st_to_f32(t, f.path()); });
    });
    return 0;
}
