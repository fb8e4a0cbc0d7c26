#include "memory_estimate.h"

#include "anyprec_checkpoint.h"
#include "error.h"
#include "gguf.h"
#include "model.h"
#include "safetensors.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ap {

namespace {

// What load_model keeps: fp32 and 16-bit tensors as stored (the few 16-bit
// vectors widened to fp32 are negligible), integer tensors (bitplanes,
// tables) as stored.
void add_safetensors(const SafetensorsFile& st, LoadEstimate& e) {
    for (const StTensor& t : st.tensors()) {
        e.source_bytes += t.nbytes;
        e.weight_bytes += t.nbytes;
    }
}

std::string gib(uint64_t b) {
    std::ostringstream s;
    s.precision(1);
    s << std::fixed << double(b) / double(1ull << 30) << " GiB";
    return s.str();
}

}  // namespace

LoadEstimate estimate_load(const std::string& path) {
    LoadEstimate e;
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        const HfFolder hf = open_hf_folder(path);
        for (const auto& shard : hf.shards) add_safetensors(*shard, e);
    } else {
        std::ifstream in(path, std::ios::binary);
        char magic[4] = {};
        in.read(magic, 4);
        if (in && std::string(magic, 4) == "GGUF") {
            const GgufFile f(path);
            int64_t total = 0;
            for (const GgufTensor& t : f.tensors()) total += t.n_elements();
            // As load_gguf keeps them: fp16/bf16 as stored, block types as fp32 or (large models) fp16.
            for (const GgufTensor& t : f.tensors()) {
                e.source_bytes += ggml_type_size(t.type, t.n_elements());
                const bool half = t.type == GgmlType::F16 || t.type == GgmlType::BF16 ||
                                  (gguf_blocks_as_fp16(total) && t.type != GgmlType::F32);
                e.weight_bytes += uint64_t(t.n_elements()) * (half ? 2 : 4);
            }
        } else {
            add_safetensors(SafetensorsFile(path), e);
        }
    }
    e.allowance = (512ull << 20) + e.weight_bytes / 20;
    return e;
}

uint64_t available_memory_bytes() {
    if (const char* lim = std::getenv("ANYPREC_MEMORY_LIMIT"); lim && *lim) {
        char* end = nullptr;
        const unsigned long long v = std::strtoull(lim, &end, 10);
        if (end && *end == 0) return v;
    }
    std::ifstream in("/proc/meminfo");
    std::string key, unit;
    uint64_t kb = 0;
    while (in >> key >> kb >> unit)
        if (key == "MemAvailable:") return kb * 1024;
    return 0;
}

void check_memory_for_load(const std::string& path) {
    if (const char* off = std::getenv("ANYPREC_NO_MEMORY_CHECK"); off && std::string(off) == "1") return;
    const uint64_t avail = available_memory_bytes();
    if (avail == 0) return;  // unknown: nothing to compare with
    const LoadEstimate e = estimate_load(path);
    if (e.total() <= avail) return;
    throw file_error(path, "loading needs about " + gib(e.total()) + " of memory (" + gib(e.weight_bytes) +
                               " of weights as the engine holds them, from " + gib(e.source_bytes) +
                               " in the file, plus working memory), but only " + gib(avail) +
                               " is available; close other programs, or use a smaller model or a narrower "
                               "any-precision checkpoint made on a machine with more memory "
                               "(ANYPREC_NO_MEMORY_CHECK=1 loads anyway)");
}

}  // namespace ap
