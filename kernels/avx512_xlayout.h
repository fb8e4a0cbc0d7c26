// Activations for the AVX-512 any-precision kernel (XTok order, see
// avx512_ap_kernel.h). Built in an AVX2-flagged translation unit
// (avx512_xlayout.cpp): inline functions and templates it instantiates (the
// quantizer's destructor, std::vector) are emitted as weak symbols that the
// linker may share with code running on CPUs without AVX-512, so they must
// not be compiled with AVX-512 enabled.
#pragma once
#include "avx2_xquant.h"
#include "avx512_xtok.h"
#include "kernels.h"

#include <cstddef>
#include <memory>
#include <vector>

namespace ap::kern::avx512 {

// Activations of up to 16 tokens in XTok order. They are quantized by the
// AVX2 code (identical int8 values and scales, so identical integer dot
// products) and regrouped: AVX2 groups of 128 columns hold per slice t 16
// bytes; four consecutive ones form the 64 bytes of slice t of one 512-column
// group here. Buffers are per thread and reused, so decode does not allocate;
// `owned` gives the layout buffers of its own instead (for one shared by
// several threads while each builds others).
class XLayout {
public:
    XLayout(const float* X, size_t ldx, int n, int cols, int qmax, bool owned = false);
    ~XLayout();
    XLayout(const XLayout&) = delete;
    XLayout& operator=(const XLayout&) = delete;
    const XTok* tokens() const { return tok_; }

private:
    avx2::QuantBatch src_;
    XTok tok_[16];
    std::vector<int8_t> own_q_;
    std::vector<float> own_s_;
};

// Activations prepared once for the AVX-512 kernel (KernelSet::prepare_x):
// any number of tokens, in groups of 16 (the kernel's register budget), so
// prompt chunks run the same int8 kernel as decode, group after group.
struct PreparedXTok final : PreparedX {
    PreparedXTok(const float* X, size_t ldx, int n, int cols, int qmax);
    ~PreparedXTok() override;
    static constexpr int kGroup = 16;
    int n;
    // Out of line on purpose: the AVX-512 file reads groups through these, so
    // it instantiates no std::vector code of its own (see the top of this file).
    int group_count() const;
    const XTok* group_tokens(int g) const;

private:
    std::vector<std::unique_ptr<XLayout>> groups_;  // group g holds tokens 16g .. 16g + 15
};
// nullptr for n < 1 (the caller falls back to gemm_ap); one per activation range.
std::unique_ptr<PreparedX> prepare_xtok_maddubs(const float* X, int ldx, int n, int cols);
std::unique_ptr<PreparedX> prepare_xtok_vnni(const float* X, int ldx, int n, int cols);

}  // namespace ap::kern::avx512
