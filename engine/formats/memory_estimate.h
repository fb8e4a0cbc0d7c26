// What loading a model will take in memory, from its headers alone, checked
// against what the machine has before any weight is read: a model that does
// not fit gets a clear refusal instead of the kernel's out-of-memory killer.
#pragma once
#include <cstdint>
#include <string>

namespace ap {

struct LoadEstimate {
    uint64_t weight_bytes = 0;  // as the engine holds them (see load_gguf / load_hf: fp32, or 16-bit as stored)
    uint64_t source_bytes = 0;  // the files' tensor bytes
    // KV cache (2048 tokens at fp16 for the config's shapes is far below
    // this for the models we load), activations, tokenizer, allocator slack.
    uint64_t allowance = 0;
    uint64_t total() const { return weight_bytes + allowance; }
};

LoadEstimate estimate_load(const std::string& path);
// MemAvailable from /proc/meminfo, or ANYPREC_MEMORY_LIMIT (bytes) when set (tests, or a
// user who wants a cap); 0 when unknown.
uint64_t available_memory_bytes();
// Throws ap::Error naming the file, what it needs and what is available
// when the estimate exceeds the available memory. ANYPREC_NO_MEMORY_CHECK=1 skips it.
void check_memory_for_load(const std::string& path);

}  // namespace ap
