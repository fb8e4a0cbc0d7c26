// Regrouping of the AVX2-quantized activations for the AVX-512 kernel (see
// avx512_xlayout.h for why this file is compiled with the AVX2 flags only).
#include "avx512_xlayout.h"
#include "avx2_internal.h"

#include <immintrin.h>

#include <algorithm>
#include <vector>

namespace ap::kern::avx512 {

XLayout::XLayout(const float* X, size_t ldx, int n, int cols, int qmax, bool owned) : src_(X, ldx, n, cols, qmax) {
    const int g4 = (cols + 127) / 128, g16 = (cols + 511) / 512;
    const size_t qper = size_t(g16) * 512, sper = size_t(g16) * 16;
    thread_local std::vector<int8_t> tq;
    thread_local std::vector<float> ts;
    std::vector<int8_t>& qbuf = owned ? own_q_ : tq;
    std::vector<float>& sbuf = owned ? own_s_ : ts;
    if (qbuf.size() < qper * n) qbuf.resize(qper * n);
    if (sbuf.size() < sper * n) sbuf.resize(sper * n);
    for (int j = 0; j < n; ++j) {
        const avx2::QuantX& s = src_.token(j);
        int8_t* q = qbuf.data() + qper * j;
        float* sc = sbuf.data() + sper * j;
        for (int g = 0; g < g16; ++g)
            for (int c = 0; c < 4; ++c) {
                const int a = 4 * g + c;  // AVX2 group
                for (int t = 0; t < 8; ++t) {
                    int8_t* d = q + 512 * size_t(g) + 64 * t + 16 * c;
                    if (a < g4) _mm_storeu_si128(reinterpret_cast<__m128i*>(d), _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.q + 128 * size_t(a) + 16 * t)));
                    else _mm_storeu_si128(reinterpret_cast<__m128i*>(d), _mm_setzero_si128());  // padding: zero activations
                }
            }
        for (size_t b = 0; b < sper; ++b) sc[b] = b < size_t(g4) * 4 ? s.scale[b] : 0.f;
        tok_[j] = XTok{q, sc, s.sum, s.qsum};
    }
}

XLayout::~XLayout() = default;

PreparedXTok::PreparedXTok(const float* X, size_t ldx, int n_, int cols, int qmax) : n(n_) {
    for (int t = 0; t < n; t += kGroup)
        groups_.push_back(std::make_unique<XLayout>(X + ldx * size_t(t), ldx, std::min(kGroup, n - t), cols, qmax, true));
}
PreparedXTok::~PreparedXTok() = default;
int PreparedXTok::group_count() const { return int(groups_.size()); }
const XTok* PreparedXTok::group_tokens(int g) const { return groups_[size_t(g)]->tokens(); }

std::unique_ptr<PreparedX> prepare_xtok_maddubs(const float* X, int ldx, int n, int cols) {
    if (n < 1) return nullptr;
    return std::make_unique<PreparedXTok>(X, size_t(ldx), n, cols, kActMaxMaddubs);
}

std::unique_ptr<PreparedX> prepare_xtok_vnni(const float* X, int ldx, int n, int cols) {
    if (n < 1) return nullptr;
    return std::make_unique<PreparedXTok>(X, size_t(ldx), n, cols, kActMaxVnni);
}

}  // namespace ap::kern::avx512
