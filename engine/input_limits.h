// What a model file, a header or a command line may ask of us. Every loader
// and parser checks against these before it allocates, so a crafted file
// fails with a message instead of exhausting memory; the README's "Limits"
// section lists the same numbers.
#pragma once
#include <cstdint>

namespace ap::limits {

// Model shape (the largest public models are far inside these).
constexpr int kMaxLayers = 1024;
constexpr int kMaxEmbd = 1 << 16;        // hidden size
constexpr int kMaxHeads = 1024;          // attention and KV heads
constexpr int kMaxHeadDim = 1024;
constexpr int kMaxFeedForward = 1 << 20;
constexpr int kMaxVocab = 1 << 22;       // 4,194,304 tokens (largest public: ~262k)
constexpr int kMaxContext = 1 << 20;     // tokens in one session's KV cache

// A tokenizer's ids may have holes (added tokens past the base vocabulary),
// but not more holes than real entries: the vocabulary we allocate stays
// proportional to what the file lists.
constexpr int64_t kMaxVocabHoles = 4096;

// Headers.
constexpr uint64_t kMaxSafetensorsHeader = 100ull << 20;  // bytes of JSON
constexpr uint64_t kMaxGgufMetadataEntries = 1u << 20;
constexpr uint64_t kMaxGgufTensors = 1u << 20;
constexpr uint64_t kMaxTensorDims = 8;

// Command line.
constexpr int kMaxThreads = 512;
constexpr int kMaxGenerateTokens = kMaxContext;

}  // namespace ap::limits
