// The AVX2 and AVX-512 (VBMI, with and without VNNI) kernel sets, each run
// through every test below (a global data row per set), against the scalar reference on random any-precision
// matrices: every width 2..8, parent widths 8 and 5, shapes that are not
// multiples of the SIMD width or of a 4-word group, several token counts and
// row sub-ranges that do not start at 0.
//
// Tolerances, and why:
// - dequant_ap: the value is offset + scale * code either way; the AVX2 path
//   uses one fused multiply-add, the reference a multiply then an add, so they
//   may differ by a rounding: allowed 2 FLT_EPSILON * (|offset| + 128 scale).
// - gemm_f32: both sum K products in fp32 in different orders; each is within
//   K * u * sum|w x| of the exact value (u = 2^-24), so they differ by at most
//   2 K u sum|w x|.
// - gemm_ap: the AVX2 path quantizes activations per 32-column block to at
//   least 129 levels ([-64, 64] * amax / 64), an error of at most amax / 128
//   per element; the products with the codes are exact integers, so
//     |y - y_ref| <= scale * sum_k |code_k| * amax(block of k) / 128
//   plus fp32 rounding (1e-5 of the summed magnitudes). Larger batches may
//   run in fp32 and land well inside the same bound.
#include "avx512_kernels.h"
#include "half.h"
#include "kernels.h"
#include "safetensors.h"

#include <QtTest>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <memory>
#include <random>
#include <span>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#include <unistd.h>
#define AP_TEST_HAVE_GUARD_PAGES 1
#endif

using namespace ap::kern;

namespace {

// Owned random any-precision matrix: random planes (bits past `cols` zero),
// random int8 tables, positive scales, offsets of either sign.
struct RandomAp {
    int rows, cols, words, parent;
    std::vector<uint32_t> planes;
    std::vector<int8_t> lut[kMaxBits + 1];
    std::vector<float> affine[kMaxBits + 1];

    RandomAp(int rows_, int cols_, int parent_, uint32_t seed)
        : rows(rows_), cols(cols_), words((cols_ + 31) / 32), parent(parent_) {
        std::mt19937 rng(seed);
        planes.resize(size_t(parent) * rows * words);
        for (auto& w : planes) w = uint32_t(rng());
        if (cols % 32) {
            const uint32_t keep = (1u << (cols % 32)) - 1;
            for (size_t pr = 0; pr < size_t(parent) * rows; ++pr) planes[pr * words + words - 1] &= keep;
        }
        std::uniform_int_distribution<int> code(-128, 127);
        std::uniform_real_distribution<float> scale(0.001f, 0.05f), offset(-0.5f, 0.5f);
        for (int b = kMinBits; b <= parent; ++b) {
            lut[b].resize(size_t(rows) << b);
            for (auto& c : lut[b]) c = int8_t(code(rng));
            affine[b].resize(2 * size_t(rows));
            for (int r = 0; r < rows; ++r) {
                affine[b][2 * r] = scale(rng);
                affine[b][2 * r + 1] = offset(rng);
            }
        }
    }
    ApMatrix view() const {
        ApMatrix m;
        m.rows = rows;
        m.cols = cols;
        m.words = words;
        m.seed_bits = kMinBits;
        m.parent_bits = parent;
        m.planes = planes.data();
        for (int b = kMinBits; b <= parent; ++b) {
            m.lut[b] = lut[b].data();
            m.lut_affine[b] = affine[b].data();
        }
        return m;
    }
    int code(int bits, int r, int k) const {
        unsigned idx = 0;
        for (int p = 0; p < bits; ++p) idx = (idx << 1) | ((planes[(size_t(p) * rows + r) * words + k / 32] >> (k % 32)) & 1u);
        return lut[bits][(size_t(r) << bits) + idx];
    }
};

std::vector<float> random_vector(size_t n, std::mt19937& rng, float sd = 1.f) {
    std::normal_distribution<float> nd(0.f, sd);
    std::vector<float> v(n);
    for (auto& x : v) x = nd(rng);
    return v;
}

// Codes of every weight at `bits`, row-major.
std::vector<int> all_codes(const RandomAp& a, int bits) {
    std::vector<int> c(size_t(a.rows) * a.cols);
    for (int r = 0; r < a.rows; ++r)
        for (int k = 0; k < a.cols; ++k) c[size_t(r) * a.cols + k] = a.code(bits, r, k);
    return c;
}

// The gemm_ap bound of the header comment for row r and activations x.
double ap_bound(const RandomAp& a, const std::vector<int>& codes, int bits, int r, const float* x) {
    const float scale = a.affine[bits][2 * r], offset = a.affine[bits][2 * r + 1];
    const int* code = codes.data() + size_t(r) * a.cols;
    double quant = 0, mag = 0;
    for (int k0 = 0; k0 < a.cols; k0 += 32) {
        const int k1 = std::min(a.cols, k0 + 32);
        double amax = 0, sum_code = 0;
        for (int k = k0; k < k1; ++k) {
            amax = std::max(amax, double(std::fabs(x[k])));
            sum_code += std::abs(code[k]);
            mag += std::fabs(offset * x[k]) + std::fabs(scale * code[k] * x[k]);
        }
        quant += sum_code * amax;
    }
    return scale * quant * (1.0 / 128 + 1e-6) + 1e-5 * mag + 1e-30;
}

constexpr float kSentinel = -12345.f;

#ifdef AP_TEST_HAVE_GUARD_PAGES
// A copy of `src` that ends exactly where an inaccessible page begins, so a
// kernel reading even one byte past the end crashes the test.
template <typename T>
class Guarded {
public:
    explicit Guarded(const std::vector<T>& src) {
        const size_t page = size_t(sysconf(_SC_PAGESIZE)), bytes = src.size() * sizeof(T);
        len_ = (bytes + page - 1) / page * page + page;
        base_ = static_cast<char*>(mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        if (base_ == MAP_FAILED || mprotect(base_ + len_ - page, page, PROT_NONE) != 0) qFatal("guard page set-up failed");
        data_ = reinterpret_cast<T*>(base_ + len_ - page - bytes);
        std::copy(src.begin(), src.end(), data_);
    }
    ~Guarded() { munmap(base_, len_); }
    Guarded(const Guarded&) = delete;
    Guarded& operator=(const Guarded&) = delete;
    const T* data() const { return data_; }

private:
    char* base_ = nullptr;
    size_t len_ = 0;
    T* data_ = nullptr;
};
#endif

struct Case {
    int parent, bits, rows, cols, n, r0, r1;
    QString str() const {
        return QString("parent %1 bits %2 rows %3 cols %4 n %5 range %6..%7").arg(parent).arg(bits).arg(rows).arg(cols).arg(n).arg(r0).arg(r1);
    }
};

// Rows to compute: a sub-range not starting at 0 where the shape allows.
std::pair<int, int> sub_range(int rows) {
    if (rows == 1) return {0, 1};
    return {(rows / 3) | 1, rows - (rows > 7 ? 1 : 0)};
}

}  // namespace

class TestKernels : public QObject {
    Q_OBJECT

    KernelSet k_;

    // Picks the set of the current global data row; false where this CPU lacks it.
    bool have_set() {
        QFETCH_GLOBAL(QString, set);
        if (set == "avx2") {
            if (!cpu_has_avx2_fma()) return false;
            k_ = select_kernels(KernelChoice::Avx2);
        } else if (set == "avx2+avxvnni") {
            if (!cpu_has_avx_vnni()) return false;
            k_ = select_kernels(KernelChoice::AvxVnni);
        } else if (set == "avx512vbmi") {
            if (!cpu_has_avx512_vbmi()) return false;
            k_ = select_avx512_kernels(false);
        } else {
            if (!cpu_has_avx512_vnni()) return false;
            k_ = select_avx512_kernels(true);
        }
        return true;
    }

#define AP_REQUIRE_SET() \
    if (!have_set()) QSKIP("CPU (or build) without this kernel set")

private slots:
    void initTestCase_data() {
        QTest::addColumn<QString>("set");
        QTest::newRow("avx2") << QString("avx2");
        QTest::newRow("avx2+avxvnni") << QString("avx2+avxvnni");
        QTest::newRow("avx512vbmi") << QString("avx512vbmi");
        QTest::newRow("avx512vbmi+vnni") << QString("avx512vbmi+vnni");
    }

    void setIsComplete() {
        AP_REQUIRE_SET();
        QFETCH_GLOBAL(QString, set);
        QCOMPARE(QString(k_.name), set.startsWith("avx2") ? set : QString("avx512vbmi"));
        QVERIFY(k_.gemm_f32 && k_.gemm_h16 && k_.gemm_ap && k_.dequant_ap && k_.sum_f32 && k_.attend_f16 && k_.attend_q8 && k_.f32_to_q8 && k_.f32_to_f16 && k_.silu_mul);
    }

    // Auto picks the widest set this CPU runs.
    void autoPicksWidestSet() {
        AP_REQUIRE_SET();
        const QString expect = cpu_has_avx512_vbmi() ? "avx512vbmi" : cpu_has_avx_vnni() ? "avx2+avxvnni" : "avx2";
        QCOMPARE(QString(select_kernels(KernelChoice::Auto).name), expect);
    }

    void dequantMatchesScalar() {
        AP_REQUIRE_SET();
        for (int parent : {8, 5})
            for (int cols : {1, 31, 33, 95, 576, 1000})
                for (int rows : {1, 7, 13, 192}) {
                    const RandomAp a(rows, cols, parent, uint32_t(cols * 7919 + rows * 31 + parent));
                    const ApMatrix m = a.view();
                    const auto [r0, r1] = sub_range(rows);
                    for (int bits = kMinBits; bits <= parent; ++bits) {
                        const size_t n = size_t(r1 - r0) * cols;
                        std::vector<float> ref(n), got(n + 16, kSentinel);
                        dequant_ap_scalar(m, bits, r0, r1, ref.data());
                        k_.dequant_ap(m, bits, r0, r1, got.data());
                        for (size_t i = 0; i < n; ++i) {
                            const int r = r0 + int(i / cols);
                            const double tol = 2 * FLT_EPSILON * (std::fabs(a.affine[bits][2 * r + 1]) + 128 * a.affine[bits][2 * r]);
                            if (std::fabs(got[i] - ref[i]) > tol)
                                QFAIL(qPrintable(QString("parent %1 bits %2 rows %3 cols %4 element %5: %6 vs %7")
                                                     .arg(parent).arg(bits).arg(rows).arg(cols).arg(i).arg(got[i]).arg(ref[i])));
                        }
                        for (size_t i = n; i < got.size(); ++i) QCOMPARE(got[i], kSentinel);  // nothing written past the rows
                    }
                }
    }

    void gemmF32MatchesScalar() {
        AP_REQUIRE_SET();
        std::mt19937 rng(11);
        for (int K : {1, 7, 31, 33, 95, 576, 1000})
            for (int rows : {1, 7, 13, 192})
                for (int n : {1, 2, 3, 7, 17}) {
                    const int ldx = K + 3, ldy = rows + 2;
                    const auto W = random_vector(size_t(rows) * K, rng), X = random_vector(size_t(n) * ldx, rng);
                    const auto [r0, r1] = sub_range(rows);
                    std::vector<float> ref(size_t(n) * ldy, kSentinel), got(size_t(n) * ldy, kSentinel);
                    gemm_f32_scalar(W.data(), K, X.data(), ldx, n, ref.data(), ldy, r0, r1);
                    k_.gemm_f32(W.data(), K, X.data(), ldx, n, got.data(), ldy, r0, r1);
                    for (int t = 0; t < n; ++t)
                        for (int r = 0; r < ldy; ++r) {
                            const float g = got[size_t(t) * ldy + r], e = ref[size_t(t) * ldy + r];
                            if (r < r0 || r >= r1) {
                                QCOMPARE(g, kSentinel);
                                continue;
                            }
                            double mag = 0;
                            for (int k = 0; k < K; ++k) mag += std::fabs(W[size_t(r) * K + k] * X[size_t(t) * ldx + k]);
                            if (std::fabs(g - e) > 2.0 * K * FLT_EPSILON / 2 * mag + 1e-30)
                                QFAIL(qPrintable(QString("K %1 rows %2 n %3 token %4 row %5: %6 vs %7").arg(K).arg(rows).arg(n).arg(t).arg(r).arg(g).arg(e)));
                        }
                }
    }

    // 16-bit weights: equal to gemm_f32 on the widened weights (the same
    // sums), and a token's result is the same alone or in a batch.
    void gemmH16MatchesWidenedF32() {
        AP_REQUIRE_SET();
        std::mt19937 rng(5);
        for (bool bf16 : {false, true})
            for (int K : {1, 31, 33, 576})
                for (int rows : {1, 13, 192}) {
                    const int n = 5, ldx = K + 3, ldy = rows + 2;
                    const auto Wf = random_vector(size_t(rows) * K, rng), X = random_vector(size_t(n) * ldx, rng);
                    std::vector<uint16_t> W(Wf.size());
                    std::vector<float> wide(Wf.size());
                    for (size_t i = 0; i < W.size(); ++i) {
                        W[i] = bf16 ? ap::f32_to_bf16(Wf[i]) : float_to_half(Wf[i]);
                        wide[i] = bf16 ? ap::bf16_to_f32(W[i]) : half_to_float(W[i]);
                    }
                    const auto [r0, r1] = sub_range(rows);
                    std::vector<float> ref(size_t(n) * ldy, kSentinel), got(size_t(n) * ldy, kSentinel), scal(size_t(n) * ldy, kSentinel);
                    k_.gemm_f32(wide.data(), K, X.data(), ldx, n, ref.data(), ldy, r0, r1);
                    k_.gemm_h16(W.data(), bf16, K, X.data(), ldx, n, got.data(), ldy, r0, r1);
                    gemm_h16_scalar(W.data(), bf16, K, X.data(), ldx, n, scal.data(), ldy, r0, r1);
                    QVERIFY2(got == ref, qPrintable(QString("bf16 %1 K %2 rows %3").arg(bf16).arg(K).arg(rows)));
                    for (size_t i = 0; i < got.size(); ++i) QVERIFY(std::fabs(got[i] - scal[i]) <= 1e-4f * (1 + std::fabs(scal[i])));
                    for (int t = 0; t < n; ++t) {
                        std::vector<float> one(size_t(ldy), kSentinel);
                        k_.gemm_h16(W.data(), bf16, K, X.data() + size_t(t) * ldx, ldx, 1, one.data(), ldy, r0, r1);
                        for (int r = r0; r < r1; ++r) QCOMPARE(one[size_t(r)], got[size_t(t) * ldy + r]);
                    }
                }
    }

    void gemmApMatchesScalarWithinQuantizationBound() {
        AP_REQUIRE_SET();
        std::mt19937 rng(5);
        double worst = 0;
        for (int parent : {8, 5})
            // 400 columns = 13 words: a last group of more than 8 words (the AVX-512 path
            // pairs shorter tails of two rows in one register, longer ones not).
            for (int cols : {1, 31, 33, 95, 400, 576, 1000})
                for (int rows : {1, 7, 13, 192}) {
                    const RandomAp a(rows, cols, parent, uint32_t(cols * 104729 + rows * 17 + parent));
                    const ApMatrix m = a.view();
                    const auto [r0, r1] = sub_range(rows);
                    for (int bits = kMinBits; bits <= parent; ++bits) {
                        const auto codes = all_codes(a, bits);
                        for (int n : {1, 2, 3, 7, 17}) {
                            const Case c{parent, bits, rows, cols, n, r0, r1};
                            const int ldx = cols + 5, ldy = rows + 3;
                            const auto X = random_vector(size_t(n) * ldx, rng);
                            std::vector<float> ref(size_t(n) * ldy, kSentinel), got(size_t(n) * ldy, kSentinel);
                            gemm_ap_scalar(m, bits, X.data(), ldx, n, ref.data(), ldy, r0, r1);
                            k_.gemm_ap(m, bits, X.data(), ldx, n, got.data(), ldy, r0, r1);
                            for (int t = 0; t < n; ++t)
                                for (int r = 0; r < ldy; ++r) {
                                    const float g = got[size_t(t) * ldy + r], e = ref[size_t(t) * ldy + r];
                                    if (r < r0 || r >= r1) {
                                        if (g != kSentinel) QFAIL(qPrintable(c.str() + QString(": wrote row %1 outside the range").arg(r)));
                                        continue;
                                    }
                                    const double bound = ap_bound(a, codes, bits, r, X.data() + size_t(t) * ldx);
                                    const double ratio = std::fabs(g - e) / bound;
                                    worst = std::max(worst, ratio);
                                    if (!(ratio <= 1.0))
                                        QFAIL(qPrintable(c.str() + QString(" token %1 row %2: %3 vs %4 (bound %5)").arg(t).arg(r).arg(g).arg(e).arg(bound)));
                                }
                        }
                    }
                }
        qInfo("largest error / bound: %.3f", worst);
    }

    // Planes, tables, activations and dense weights each end at an
    // inaccessible page: partial groups, short tables and ragged K must be
    // read with masks, never past the end.
    void kernelsNeverReadPastTheirInputs() {
        AP_REQUIRE_SET();
#ifndef AP_TEST_HAVE_GUARD_PAGES
        QSKIP("no mmap guard pages on this platform");
#else
        std::mt19937 rng(21);
        for (int cols : {1, 33, 95, 400, 576})
            for (int rows : {1, 7}) {
                const RandomAp a(rows, cols, 8, uint32_t(cols + rows));
                ApMatrix m = a.view();
                const Guarded<uint32_t> planes(a.planes);
                m.planes = planes.data();
                std::vector<std::unique_ptr<Guarded<int8_t>>> luts;
                std::vector<std::unique_ptr<Guarded<float>>> affs;
                for (int b = kMinBits; b <= 8; ++b) {
                    luts.push_back(std::make_unique<Guarded<int8_t>>(a.lut[b]));
                    affs.push_back(std::make_unique<Guarded<float>>(a.affine[b]));
                    m.lut[b] = luts.back()->data();
                    m.lut_affine[b] = affs.back()->data();
                }
                for (int n : {1, 3, 17}) {
                    const Guarded<float> X(random_vector(size_t(n) * cols, rng));
                    const Guarded<float> W(random_vector(size_t(rows) * cols, rng));
                    std::vector<float> y(size_t(n) * rows), ref(size_t(n) * rows), deq(size_t(rows) * cols);
                    for (int bits = kMinBits; bits <= 8; ++bits) {
                        k_.gemm_ap(m, bits, X.data(), cols, n, y.data(), rows, 0, rows);
                        gemm_ap_scalar(m, bits, X.data(), cols, n, ref.data(), rows, 0, rows);
                        const auto codes = all_codes(a, bits);
                        for (int t = 0; t < n; ++t)
                            for (int r = 0; r < rows; ++r) {
                                const size_t i = size_t(t) * rows + r;
                                QVERIFY(std::fabs(y[i] - ref[i]) <= ap_bound(a, codes, bits, r, X.data() + size_t(t) * cols));
                            }
                        k_.dequant_ap(m, bits, 0, rows, deq.data());
                    }
                    k_.gemm_f32(W.data(), cols, X.data(), cols, n, y.data(), rows, 0, rows);
                }
            }
#endif
    }

    // Speculative verification relies on a few-token batch giving exactly the
    // numbers of the same tokens decoded one at a time.
    void gemmApSmallBatchMatchesSingleTokens() {
        AP_REQUIRE_SET();
        std::mt19937 rng(9);
        const RandomAp a(61, 576, 8, 77);
        const ApMatrix m = a.view();
        for (int bits = kMinBits; bits <= 8; ++bits)
            for (int n : {2, 3, 7}) {
                const auto X = random_vector(size_t(n) * 576, rng);
                std::vector<float> batch(size_t(n) * 61), single(61);
                k_.gemm_ap(m, bits, X.data(), 576, n, batch.data(), 61, 3, 60);
                for (int t = 0; t < n; ++t) {
                    k_.gemm_ap(m, bits, X.data() + size_t(t) * 576, 576, 1, single.data(), 61, 3, 60);
                    for (int r = 3; r < 60; ++r) QCOMPARE(batch[size_t(t) * 61 + r], single[r]);
                }
            }
    }

    // Activations prepared once and read by many row ranges give exactly
    // gemm_ap's results, for a few tokens and for prompt chunks.
    void preparedActivationsMatchGemmAp() {
        AP_REQUIRE_SET();
        QVERIFY(k_.prepare_x && k_.gemm_ap_prepared);
        std::mt19937 rng(21);
        for (int cols : {576, 100, 1536}) {
            const RandomAp a(45, cols, 8, uint32_t(cols));
            const ApMatrix m = a.view();
            for (int n : {1, 2, 5, 16}) {
                const int ldx = cols + 3;
                const auto X = random_vector(size_t(n) * ldx, rng);
                const auto px = k_.prepare_x(X.data(), ldx, n, cols);
                QVERIFY(px);
                for (int bits = kMinBits; bits <= 8; ++bits) {
                    std::vector<float> want(size_t(n) * 45, 0.f), got(size_t(n) * 45, 0.f);
                    k_.gemm_ap(m, bits, X.data(), ldx, n, want.data(), 45, 0, 45);
                    for (auto [r0, r1] : {std::pair{0, 16}, {16, 17}, {17, 45}})  // uneven chunks, one of a single row
                        k_.gemm_ap_prepared(m, bits, *px, got.data(), 45, r0, r1);
                    for (size_t i = 0; i < got.size(); ++i)
                        if (got[i] != want[i])
                            QFAIL(qPrintable(QString("cols %1 n %2 bits %3 [%4]: %5 vs %6").arg(cols).arg(n).arg(bits).arg(i).arg(got[i]).arg(want[i])));
                }
            }
        }
        // Prompt chunks above the few-token route give every token exactly its
        // single-token result (the tiled kernels: several row tiles at cols
        // 1536 (AVX2) and 4100 (AVX-512), a last token block of 3 at n 103,
        // an odd last row; AVX-512's last group of 7, 9 and 1 words at cols
        // 200, 800 and 4100).
        for (auto [cols, n] : {std::pair{200, 17}, {200, 40}, {1536, 103}, {800, 21}, {4100, 19}}) {
            const RandomAp a(37, cols, 8, 5);
            const ApMatrix m = a.view();
            const auto X = random_vector(size_t(n) * cols, rng);
            const auto px = k_.prepare_x(X.data(), cols, n, cols);
            QVERIFY(px);
            for (int bits = kMinBits; bits <= 8; ++bits) {
                std::vector<float> got(size_t(n) * 37, kSentinel), alone(size_t(n) * 37);
                for (auto [r0, r1] : {std::pair{0, 5}, {5, 37}}) k_.gemm_ap_prepared(m, bits, *px, got.data(), 37, r0, r1);
                for (int t = 0; t < n; ++t) k_.gemm_ap(m, bits, X.data() + size_t(t) * cols, cols, 1, alone.data() + size_t(t) * 37, 37, 0, 37);
                if (got != alone)
                    QFAIL(qPrintable(QString("cols %1 n %2 bits %3: a prompt chunk token differs from the token alone").arg(cols).arg(n).arg(bits)));
            }
        }
    }

    // An expanded copy (KernelSet::expand_ap) gives exactly the table
    // kernel's results at its width, for decode and prompt chunks, whatever
    // the row split (rows expanded in uneven chunks, read in others); other
    // widths keep the table route. Both layouts where a set has two (their
    // sizes differ where one keeps indices and the other codes).
    void expandedCopyMatchesTables() {
        AP_REQUIRE_SET();
        if (!k_.expand_ap) QSKIP("this set keeps no expanded copies");
        QVERIFY(k_.expand_layout != 0);
        std::vector<int> layouts{k_.expand_layout};
        if (k_.expand_layout_alt) {
            layouts.push_back(k_.expand_layout_alt);
            QVERIFY(k_.copy_indices_upto_alt < k_.copy_indices_upto);
            QVERIFY(k_.expand_bytes(5, 300, k_.copy_indices_upto, k_.expand_layout_alt) >
                    k_.expand_bytes(5, 300, k_.copy_indices_upto, k_.expand_layout));
        }
        std::mt19937 rng(8);
        for (int layout : layouts)
        for (int cols : {200, 576, 800, 1000}) {  // AVX-512's last group: 7, 2, 9 and 0 words
            const int rows = 37;
            const RandomAp a(rows, cols, 8, uint32_t(cols) + 1);
            ApMatrix m = a.view();
            for (int bits = kMinBits; bits <= 8; ++bits) {
                std::vector<int8_t> storage(k_.expand_bytes(rows, cols, bits, layout) + 64, int8_t(77));
                int8_t* copy_at = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64;  // 64-byte aligned, as the engine keeps it
                std::span<int8_t> copy(copy_at, k_.expand_bytes(rows, cols, bits, layout));
                for (auto [r0, r1] : {std::pair{0, 3}, {3, 20}, {20, 37}}) k_.expand_ap(m, bits, layout, r0, r1, copy.data());
                for (int n : {1, 3, 16, 40}) {
                    const auto X = random_vector(size_t(n) * cols, rng);
                    const auto px = k_.prepare_x(X.data(), cols, n, cols);
                    std::vector<float> want(size_t(n) * rows, kSentinel), got(want.size(), kSentinel), other(want.size(), kSentinel);
                    m.codes = nullptr;
                    k_.gemm_ap_prepared(m, bits, *px, want.data(), rows, 0, rows);
                    m.codes = copy.data();
                    m.codes_bits = bits;
                    m.codes_layout = layout;
                    for (auto [r0, r1] : {std::pair{0, 5}, {5, 37}}) k_.gemm_ap_prepared(m, bits, *px, got.data(), rows, r0, r1);
                    if (got != want)
                        QFAIL(qPrintable(QString("layout %1 cols %2 bits %3 n %4: the expanded copy differs from the tables")
                                             .arg(layout).arg(cols).arg(bits).arg(n)));
                    // ... and it is what was read: other codes, other results.
                    const std::vector<int8_t> saved(copy.begin(), copy.end());
                    std::fill(copy.begin(), copy.end(), int8_t(3));
                    std::vector<float> wrong(want.size(), kSentinel);
                    k_.gemm_ap_prepared(m, bits, *px, wrong.data(), rows, 0, rows);
                    // Prompt chunks keep the tiles below the set's copy_prompts_from.
                    QCOMPARE(wrong != want, n <= kFewTokens || (k_.copy_prompts_from > 0 && bits >= k_.copy_prompts_from));
                    std::copy(saved.begin(), saved.end(), copy.begin());
                    // A copy of another width is not read.
                    const int wider = bits == 8 ? 7 : bits + 1;
                    std::vector<float> table(want.size(), kSentinel);
                    m.codes = nullptr;
                    k_.gemm_ap_prepared(m, wider, *px, table.data(), rows, 0, rows);
                    m.codes = copy.data();
                    k_.gemm_ap_prepared(m, wider, *px, other.data(), rows, 0, rows);
                    QVERIFY(other == table);
                }
            }
        }
    }

    // Blocks of zeros (scale 0), tiny and huge magnitudes side by side, and a
    // split of the rows at odd points must not change any row's result.
    void gemmApExtremeActivationsAndSplits() {
        AP_REQUIRE_SET();
        std::mt19937 rng(3);
        const int rows = 45, cols = 333;
        const RandomAp a(rows, cols, 8, 123);
        const ApMatrix m = a.view();
        auto x = random_vector(cols, rng);
        for (int k = 32; k < 64; ++k) x[k] = 0.f;
        for (int k = 64; k < 96; ++k) x[k] *= 1e-30f;
        x[100] = 3e4f;
        for (int bits = kMinBits; bits <= 8; ++bits) {
            const auto codes = all_codes(a, bits);
            std::vector<float> ref(rows), whole(rows), split(rows);
            gemm_ap_scalar(m, bits, x.data(), cols, 1, ref.data(), rows, 0, rows);
            k_.gemm_ap(m, bits, x.data(), cols, 1, whole.data(), rows, 0, rows);
            for (int r0 = 0, r1 = 0; r0 < rows; r0 = r1) {
                r1 = std::min(rows, r0 + 1 + (r0 * 7) % 5);
                k_.gemm_ap(m, bits, x.data(), cols, 1, split.data(), rows, r0, r1);
            }
            for (int r = 0; r < rows; ++r) {
                QVERIFY2(std::isfinite(whole[r]), qPrintable(QString("bits %1 row %2").arg(bits).arg(r)));
                QVERIFY2(std::fabs(whole[r] - ref[r]) <= ap_bound(a, codes, bits, r, x.data()),
                         qPrintable(QString("bits %1 row %2: %3 vs %4").arg(bits).arg(r).arg(whole[r]).arg(ref[r])));
                QCOMPARE(split[r], whole[r]);
            }
        }
    }
};

QTEST_GUILESS_MAIN(TestKernels)
#include "test_kernels.moc"
