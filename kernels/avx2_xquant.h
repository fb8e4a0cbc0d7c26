// Activations quantized for the any-precision kernels: per token and per
// 32-column block one fp32 scale and int8 values, stored in the weight order
// of avx2_ap_index.h so one 16-byte load feeds both lanes of a row-pair
// index register.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace ap::kern::avx2 {

// One token's quantized activations.
struct QuantX {
    const int8_t* q;      // [groups][8][16]: x ~= scale[block] * q, zero past cols
    const float* scale;   // [groups * 4]
    float sum;            // sum of x (exact fp32, for the table offsets)
    float qsum;           // sum over blocks of scale * (sum of q in the block)
};

// Quantizes n tokens (rows of X, stride ldx) symmetrically per block to
// [-qmax, qmax], rounding to nearest; small batches stay on the stack.
class QuantBatch {
public:
    QuantBatch(const float* X, size_t ldx, int n, int cols, int qmax);
    QuantBatch(const QuantBatch&) = delete;
    QuantBatch& operator=(const QuantBatch&) = delete;
    const QuantX& token(int j) const { return tok_[j]; }

    static constexpr int kMaxTokens = 16;  // n above this is not quantized

private:
    static constexpr int kInlineBytes = 8192;  // quantized values held without a heap allocation
    alignas(32) int8_t q_[kInlineBytes];
    float s_[kInlineBytes / 32];
    std::unique_ptr<int8_t[]> heap_q_;
    std::unique_ptr<float[]> heap_s_;
    QuantX tok_[kMaxTokens];
};

}  // namespace ap::kern::avx2
