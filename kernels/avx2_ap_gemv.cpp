// The AVX2 set's any-precision entries for one token, a few, and prompts of
// any length with activations quantized once (avx2_ap_kernel.h does the
// products), in the plain and the AVX-VNNI flavour.
#include "avx2_internal.h"
#include "avx2_ap_kernel.h"
#include "avx2_ap_tiled.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

namespace ap::kern::avx2 {

void ap_rows_plain(const ApMatrix& m, int bits, const QuantBatch& xb, int n, float* Y, size_t ldy, int r0, int r1) {
    ap_rows_width<false>(m, bits, xb, n, Y, ldy, r0, r1);
}

void ap_tiled_plain(const ApMatrix& m, int bits, const QuantX* const* x, int n, float* Y, size_t ldy, int r0, int r1) {
    ap_tiled_width<false>(m, bits, x, n, Y, ldy, r0, r1);
}
void ap_copy_plain(const ApMatrix& m, const QuantX* const* x, int n, float* Y, size_t ldy, int r0, int r1) {
    ap_copy_width<false>(m, x, n, Y, ldy, r0, r1);
}
void expand_plain(const ApMatrix& m, int bits, int layout, int r0, int r1, int8_t* dst) {
    expand_width<false>(m, bits, layout, r0, r1, dst);
}

namespace {

template <bool VNNI>
void ap_rows_flavour(const ApMatrix& m, int bits, const QuantBatch& xb, int n, float* Y, size_t ldy, int r0, int r1) {
    if constexpr (VNNI) ap_rows_vnni(m, bits, xb, n, Y, ldy, r0, r1);
    else ap_rows_plain(m, bits, xb, n, Y, ldy, r0, r1);
}

// The expanded copy serves products of up to kFewTokens tokens at its width,
// and prompt chunks when it holds codes (a copy of indices fills the tiles
// instead: TileCodes::lookup); all give the same results bit for bit.
template <bool VNNI>
bool use_copy(const ApMatrix& m, int bits, int n) {
    return m.codes && m.codes_bits == bits && is_layout_of<VNNI>(m.codes_layout) &&
           (n <= kFewTokens || bits > index_copy_upto_layout(m.codes_layout));
}

template <bool VNNI>
void ap_tiled_flavour(const ApMatrix& m, int bits, const QuantX* const* x, int n, float* Y, size_t ldy, int r0, int r1) {
    if (use_copy<VNNI>(m, bits, n)) {
        if constexpr (VNNI) ap_copy_vnni(m, x, n, Y, ldy, r0, r1);
        else ap_copy_plain(m, x, n, Y, ldy, r0, r1);
    } else if constexpr (VNNI) {
        ap_tiled_vnni(m, bits, x, n, Y, ldy, r0, r1);
    } else {
        ap_tiled_plain(m, bits, x, n, Y, ldy, r0, r1);
    }
}

// Activations quantized once for any number of tokens, in groups of
// QuantBatch::kMaxTokens: decode (one group) runs the few-token kernel,
// prompt chunks (many groups) the tiled one; every token gets the arithmetic
// it would get alone. Each
// activation range is quantized on first use (several threads may ask at once).
struct Prepared final : PreparedX {
    Prepared(const float* X_, size_t ldx_, int n_, int cols_, bool vnni_) : X(X_), ldx(ldx_), n(n_), cols(cols_), vnni(vnni_) {}
    const float* X;  // the caller keeps X alive and unchanged while it uses this
    size_t ldx;
    int n, cols;
    bool vnni;

    const std::vector<std::unique_ptr<QuantBatch>>& groups(int bits) const {
        const int qmax = act_max(bits, vnni);
        Range& r = range[qmax == kActMaxWide];
        std::call_once(r.once, [&] {
            for (int t = 0; t < n; t += QuantBatch::kMaxTokens)
                r.groups.push_back(std::make_unique<QuantBatch>(X + ldx * size_t(t), ldx, std::min(QuantBatch::kMaxTokens, n - t), cols, qmax));
        });
        return r.groups;
    }
    void prepare(int bits) const override { groups(bits); }

private:
    struct Range {
        std::once_flag once;
        std::vector<std::unique_ptr<QuantBatch>> groups;  // group g: tokens kMaxTokens * g ..
    };
    mutable Range range[2];  // [0]: 64 levels a side, [1]: 127
};

}  // namespace

template <bool VNNI>
void gemm_ap_few(const ApMatrix& m, int bits, const float* X, size_t ldx, int n, float* Y, size_t ldy, int r0, int r1) {
    if (r1 <= r0 || n <= 0) return;
    const QuantBatch xb(X, ldx, n, m.cols, act_max(bits, VNNI));
    ap_rows_flavour<VNNI>(m, bits, xb, n, Y, ldy, r0, r1);
}

template <bool VNNI>
std::unique_ptr<PreparedX> prepare_x(const float* X, int ldx, int n, int cols) {
    if (n < 1) return nullptr;
    return std::make_unique<Prepared>(X, size_t(ldx), n, cols, VNNI);
}

template <bool VNNI>
void gemm_ap_prepared(const ApMatrix& m, int bits, const PreparedX& x, float* Y, int ldy, int r0, int r1) {
    const auto& p = static_cast<const Prepared&>(x);
    if (r1 <= r0) return;
    const auto& groups = p.groups(bits);
    if (p.n > kFewTokens) {
        // Prompt chunks: the tiled kernel, each tile's codes looked up once
        // for all tokens (avx2_ap_tiled.h).
        std::vector<const QuantX*> tokens;
        tokens.reserve(size_t(p.n));
        for (size_t g = 0; g < groups.size(); ++g)
            for (int j = 0; j < std::min(QuantBatch::kMaxTokens, p.n - int(g) * QuantBatch::kMaxTokens); ++j)
                tokens.push_back(&groups[g]->token(j));
        ap_tiled_flavour<VNNI>(m, bits, tokens.data(), p.n, Y, size_t(ldy), r0, r1);
        return;
    }
    if (use_copy<VNNI>(m, bits, p.n) && bits > index_copy_upto_layout(m.codes_layout)) {  // the copy of codes' token pass (ap_rows reads a copy of indices)
        const QuantX* tokens[QuantBatch::kMaxTokens];
        for (int j = 0; j < p.n; ++j) tokens[j] = &groups[0]->token(j);
        ap_tiled_flavour<VNNI>(m, bits, tokens, p.n, Y, size_t(ldy), r0, r1);
        return;
    }
    ap_rows_flavour<VNNI>(m, bits, *groups[0], p.n, Y, size_t(ldy), r0, r1);
}

template <bool VNNI>
void expand_ap(const ApMatrix& m, int bits, int layout, int r0, int r1, int8_t* dst) {
    if constexpr (VNNI) expand_vnni(m, bits, layout, r0, r1, dst);
    else expand_plain(m, bits, layout, r0, r1, dst);
}

template void gemm_ap_few<false>(const ApMatrix&, int, const float*, size_t, int, float*, size_t, int, int);
template void gemm_ap_few<true>(const ApMatrix&, int, const float*, size_t, int, float*, size_t, int, int);
template std::unique_ptr<PreparedX> prepare_x<false>(const float*, int, int, int);
template std::unique_ptr<PreparedX> prepare_x<true>(const float*, int, int, int);
template void gemm_ap_prepared<false>(const ApMatrix&, int, const PreparedX&, float*, int, int, int);
template void gemm_ap_prepared<true>(const ApMatrix&, int, const PreparedX&, float*, int, int, int);
template void expand_ap<false>(const ApMatrix&, int, int, int, int, int8_t*);
template void expand_ap<true>(const ApMatrix&, int, int, int, int, int8_t*);

}  // namespace ap::kern::avx2
