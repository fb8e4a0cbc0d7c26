// The bit-level core of the CUDA kernels (kernels/cuda/ap_bits.h) run on the
// CPU against the scalar reference: bit transposes, pair indices, tables,
// pair tables and one lane's dot product, at every width, on random and on
// really quantized matrices with odd shapes. Needs no GPU.
#include "test_util.h"

#include "cuda/ap_bits.h"
#include "random_ap.h"
#include "kernels.h"
#include "quantize_matrix.h"
#include "thread_pool.h"

#include <cmath>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

using ap::cuda::ApIndexWord;
using ap::cuda::ApPair;
using ap::kern::ApMatrix;

namespace {

// Calls f(std::integral_constant<int, B>) for the runtime width b (1..8).
template <class F>
void with_width(int b, F&& f) {
    [&]<int... Bs>(std::integer_sequence<int, Bs...>) {
        ((b == Bs + 1 ? f(std::integral_constant<int, Bs + 1>{}) : void()), ...);
    }(std::make_integer_sequence<int, 8>{});
}

// Index of weight k straight from the definition: bit B-1-p is bit k of plane p.
template <int B>
unsigned index_by_definition(const uint32_t (&planes)[B], int k) {
    unsigned idx = 0;
    for (int p = 0; p < B; ++p) idx = (idx << 1) | ((planes[p] >> k) & 1u);
    return idx;
}

// The plane words of row r, word w of m at width B.
template <int B>
ApIndexWord<B> index_word(const ApMatrix& m, int r, int w) {
    uint32_t pl[B];
    for (int p = 0; p < B; ++p) pl[p] = m.planes[(size_t(p) * m.rows + r) * m.words + w];
    return ApIndexWord<B>(pl);
}

std::vector<float> row_table(const ApMatrix& m, int b, int r) {
    std::vector<float> tab(size_t(1) << b);
    ap::cuda::ap_build_table(m.lut[b] + (size_t(r) << b), m.lut_affine[b][2 * r], m.lut_affine[b][2 * r + 1], b,
                             tab.data());
    return tab;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

// The 32 activations of word w, zero past cols (what the kernels load).
void word_x(const std::vector<float>& x, int cols, int w, float (&xr)[32]) {
    for (int k = 0; k < 32; ++k) xr[k] = 32 * w + k < cols ? x[size_t(32) * w + k] : 0.f;
}

// Every stored width of m through the ap_bits path reproduces dequant_ap_scalar
// exactly, and bits past cols decode to index 0.
void check_values_exact(const ApMatrix& m) {
    std::vector<float> ref(m.cols);
    for (int b = m.seed_bits; b <= m.parent_bits; ++b) {
        with_width(b, [&](auto bc) {
            constexpr int B = decltype(bc)::value;
            for (int r = 0; r < m.rows; ++r) {
                ap::kern::dequant_ap_scalar(m, B, r, r + 1, ref.data());
                const std::vector<float> tab = row_table(m, B, r);
                for (int w = 0; w < m.words; ++w) {
                    const ApIndexWord<B> iw = index_word<B>(m, r, w);
                    for (int k = 0; k < 32; ++k) {
                        const int col = 32 * w + k;
                        if (col < m.cols) {
                            if (!same_bits(tab[iw.index(k)], ref[col]))
                                QFAIL(qPrintable(QString("width %1 row %2 col %3: %4 vs reference %5")
                                                     .arg(B).arg(r).arg(col).arg(tab[iw.index(k)]).arg(ref[col])));
                        } else {
                            QCOMPARE(iw.index(k), 0u);
                        }
                    }
                }
            }
        });
    }
}

// Row dot products from ap_word_dot (and ap_word_dot_pairs at <= 4 bits)
// against gemm_ap_scalar, within fp32 rounding of a different summation order.
void check_dots(const ApMatrix& m, const std::vector<float>& x) {
    std::vector<float> y(m.rows), row(m.cols);
    for (int b = m.seed_bits; b <= m.parent_bits; ++b) {
        ap::kern::gemm_ap_scalar(m, b, x.data(), m.cols, 1, y.data(), m.rows, 0, m.rows);
        with_width(b, [&](auto bc) {
            constexpr int B = decltype(bc)::value;
            for (int r = 0; r < m.rows; ++r) {
                ap::kern::dequant_ap_scalar(m, B, r, r + 1, row.data());
                double mag = 0;
                for (int k = 0; k < m.cols; ++k) mag += std::fabs(double(row[k]) * x[k]);
                const std::vector<float> tab = row_table(m, B, r);
                std::vector<ApPair> pairs(ap::cuda::ap_pair_table_size(B <= 4 ? B : 4));
                if constexpr (B <= 4)
                    for (int e = 0; e < int(pairs.size()); ++e) pairs[e] = ap::cuda::ap_pair_entry(tab.data(), B, e);
                float single = 0.f, paired = 0.f;
                for (int w = 0; w < m.words; ++w) {
                    float xr[32];
                    word_x(x, m.cols, w, xr);
                    const ApIndexWord<B> iw = index_word<B>(m, r, w);
                    single += ap::cuda::ap_word_dot<B>(iw, tab.data(), xr);
                    if constexpr (B <= 4) paired += ap::cuda::ap_word_dot_pairs<B>(iw, pairs.data(), xr);
                }
                const double tol = 1e-5 * mag + 1e-12;
                if (std::fabs(double(single) - y[r]) > tol)
                    QFAIL(qPrintable(QString("width %1 row %2: dot %3 vs reference %4").arg(B).arg(r).arg(single).arg(y[r])));
                if (B <= 4 && std::fabs(double(paired) - y[r]) > tol)
                    QFAIL(qPrintable(QString("width %1 row %2: pair dot %3 vs reference %4").arg(B).arg(r).arg(paired).arg(y[r])));
            }
        });
    }
}

struct Shape {
    int rows, cols;
};
// Odd shapes: a single weight, less than a word, a word and a bit, many words with a ragged end.
const Shape kShapes[] = {{1, 1}, {3, 31}, {5, 33}, {7, 77}, {4, 1056}, {2, 2100}};

}  // namespace

class TestCudaHost : public QObject {
    Q_OBJECT
private slots:
    void transposeMatchesDefinition() {
        std::mt19937 rng(1);
        for (int b = 1; b <= 8; ++b) {
            with_width(b, [&](auto bc) {
                constexpr int B = decltype(bc)::value;
                for (int trial = 0; trial < 3000; ++trial) {
                    uint32_t pl[B];
                    for (int p = 0; p < B; ++p) {
                        // Mix uniform words with sparse and dense ones.
                        const uint32_t u = uint32_t(rng());
                        pl[p] = trial % 3 == 0 ? u : trial % 3 == 1 ? (u & uint32_t(rng()) & uint32_t(rng())) : (u | uint32_t(rng()));
                    }
                    const ApIndexWord<B> iw(pl);
                    for (int k = 0; k < 32; ++k)
                        if (iw.index(k) != index_by_definition<B>(pl, k))
                            QFAIL(qPrintable(QString("width %1 weight %2: %3 vs %4").arg(B).arg(k).arg(iw.index(k)).arg(index_by_definition<B>(pl, k))));
                }
                // One set bit at a time: each plane bit lands in exactly one index bit.
                for (int p = 0; p < B; ++p)
                    for (int k = 0; k < 32; ++k) {
                        uint32_t pl[B] = {};
                        pl[p] = 1u << k;
                        const ApIndexWord<B> iw(pl);
                        for (int j = 0; j < 32; ++j) QCOMPARE(iw.index(j), j == k ? 1u << (B - 1 - p) : 0u);
                    }
            });
        }
    }

    void pairIndexHoldsTwoIndices() {
        std::mt19937 rng(2);
        for (int b = 1; b <= 4; ++b) {
            with_width(b, [&](auto bc) {
                constexpr int B = decltype(bc)::value;
                if constexpr (B <= 4) {
                    using W = ApIndexWord<B>;
                    for (int trial = 0; trial < 1000; ++trial) {
                        uint32_t pl[B];
                        for (auto& p : pl) p = uint32_t(rng());
                        const W iw(pl);
                        bool seen[32] = {};
                        for (int q = 0; q < 4; ++q)
                            for (int j = 0; j < 4; ++j) {
                                QCOMPARE(iw.pair(q, j), iw.index(W::pair_lo(q, j)) | iw.index(W::pair_hi(q, j)) << 4);
                                seen[W::pair_lo(q, j)] = seen[W::pair_hi(q, j)] = true;
                            }
                        for (bool s : seen) QVERIFY(s);  // the 16 pairs cover all 32 weights
                    }
                }
            });
        }
    }

    void pairTableEntries() {
        std::mt19937 rng(3);
        for (int b = 1; b <= 4; ++b) {
            const std::vector<float> tab = aptest::random_floats(rng, size_t(1) << b);
            QCOMPARE(ap::cuda::ap_pair_table_size(b), 16 << b);
            for (int lo = 0; lo < (1 << b); ++lo)
                for (int hi = 0; hi < (1 << b); ++hi) {
                    const ApPair e = ap::cuda::ap_pair_entry(tab.data(), b, lo | hi << 4);
                    QVERIFY(same_bits(e.lo, tab[lo]) && same_bits(e.hi, tab[hi]));
                }
        }
    }

    void codesFromWordsAreExact() {
        // Every byte value in every position of a word of four codes.
        for (int v = 0; v < 256; ++v)
            for (int i = 0; i < 4; ++i) {
                // Other bytes set, so a wrong shift or mask shows.
                const uint32_t word = (0xA53C7E81u & ~(0xFFu << (8 * i))) | uint32_t(v) << (8 * i);
                QVERIFY(same_bits(ap::cuda::ap_code_from_word(word, i), float(int8_t(uint8_t(v)))));
            }
    }

    void tableValueMatchesReferenceFormula() {
        // Codes at the extremes and zero, scales and offsets of both signs.
        const int8_t codes[] = {-128, -127, -1, 0, 1, 63, 127};
        const float scales[] = {1e-3f, 0.0173f, -0.5f}, offsets[] = {0.f, -0.031f, 2.5f};
        for (int8_t c : codes)
            for (float s : scales)
                for (float o : offsets) QVERIFY(same_bits(ap::cuda::ap_table_value(float(c), s, o), o + s * float(c)));
        // The kernels' way (four codes per 32-bit word) builds the same tables.
        std::mt19937 rng(7);
        const ap::ApWeight w = aptest::random_ap_weight(rng, 5, 40, 2, 8);
        for (int b = 2; b <= 8; ++b)
            for (int r = 0; r < 5; ++r) {
                const std::vector<float> ref = row_table(w.view(), b, r);
                for (int q = 0; q < (1 << b) / 4; ++q) {
                    uint32_t word;
                    std::memcpy(&word, w.lut[b].data() + (size_t(r) << b) + 4 * q, 4);
                    for (int i = 0; i < 4; ++i)
                        QVERIFY(same_bits(ap::cuda::ap_table_value(ap::cuda::ap_code_from_word(word, i), w.affine[b][2 * r],
                                                                   w.affine[b][2 * r + 1]),
                                          ref[4 * q + i]));
                }
            }
    }

    void randomMatricesDecodeExactly() {
        std::mt19937 rng(4);
        for (const Shape& s : kShapes) {
            const ap::ApWeight w = aptest::random_ap_weight(rng, s.rows, s.cols, 2, 8);
            check_values_exact(w.view());
            if (QTest::currentTestFailed()) return;
        }
        // A parent narrower than 8 bits: planes of other rows must not be mixed in.
        const ap::ApWeight w = aptest::random_ap_weight(rng, 9, 70, 3, 5);
        check_values_exact(w.view());
    }

    void randomMatricesDotProducts() {
        std::mt19937 rng(5);
        for (const Shape& s : kShapes) {
            const ap::ApWeight w = aptest::random_ap_weight(rng, s.rows, s.cols, 2, 8);
            check_dots(w.view(), aptest::random_floats(rng, size_t(s.cols)));
            if (QTest::currentTestFailed()) return;
        }
    }

    void quantizedMatrixThroughKernelPath() {
        // Weights run through the real quantizer: the kernel path decodes them
        // exactly as the reference does, and wider reads get closer to the weights.
        std::mt19937 rng(6);
        std::normal_distribution<float> nd(0.f, 0.02f);
        const int rows = 6, cols = 300;
        std::vector<float> wf(size_t(rows) * cols);
        for (auto& v : wf) v = nd(rng);
        ap::MatrixJob job;
        job.name = "test";
        job.w = wf.data();
        job.rows = rows;
        job.cols = cols;
        ap::ThreadPool pool(1);
        const auto q = ap::quantize_matrix(job, pool, nullptr, {});
        QVERIFY(q);
        const ApMatrix m = q->view();
        check_values_exact(m);
        check_dots(m, aptest::random_floats(rng, cols));
        std::vector<float> deq(size_t(rows) * cols);
        double prev = INFINITY, first = 0;
        for (int b = m.seed_bits; b <= m.parent_bits; ++b) {
            ap::kern::dequant_ap_scalar(m, b, 0, rows, deq.data());
            double err = 0;
            for (size_t i = 0; i < deq.size(); ++i) err += double(deq[i] - wf[i]) * (deq[i] - wf[i]);
            // int8 table rounding may cost a little at the widest steps, never much.
            QVERIFY2(err < prev * 1.05, qPrintable(QString("width %1 error %2 vs %3").arg(b).arg(err).arg(prev)));
            if (b == m.seed_bits) first = err;
            prev = err;
        }
        QVERIFY2(prev < first / 20, qPrintable(QString("parent error %1, seed error %2").arg(prev).arg(first)));
    }
};

QTEST_GUILESS_MAIN(TestCudaHost)
#include "test_cuda_host.moc"
