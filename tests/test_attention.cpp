// Attention over the fp16 and int8 KV caches (KernelSet::attend_f16, attend_q8), the row
// stores behind them, and SwiGLU (the other exp user), for the scalar reference and every SIMD set this
// CPU runs, against a double-precision reference.
//
// Tolerance: the output is a convex combination of V rows, so fp32 rounding
// in the scores, the exp approximation (a few ulp) and the weighted sum stay
// within about 1e-6 relative of max|v| per term; allowed 2e-5 * max|v|.
#include "half.h"
#include "kernels.h"

#include <QtTest>

#include <cmath>
#include <cstring>
#include <random>
#include <tuple>
#include <vector>

using namespace ap::kern;

namespace {

float bits_to_float(uint32_t b) {
    float f;
    std::memcpy(&f, &b, 4);
    return f;
}

// Softmax attention in double over cached rows (key(j, i), value(j, i): element i of row j): the exact value the kernels approximate.
template <class Key, class Value>
std::vector<double> reference_rows(const std::vector<float>& q, Key key, Value value, int n_pos, int d, float scale,
                                   float cap, size_t q0) {
    std::vector<double> s(n_pos);
    double mx = -1e300;
    for (int j = 0; j < n_pos; ++j) {
        double a = 0;
        for (int i = 0; i < d; ++i) a += double(q[q0 + i]) * key(j, i);
        s[j] = a * scale;
        if (cap > 0) s[j] = cap * std::tanh(s[j] / cap);
        mx = std::max(mx, s[j]);
    }
    double sum = 0;
    for (auto& e : s) sum += (e = std::exp(e - mx));
    std::vector<double> out(d, 0.0);
    for (int j = 0; j < n_pos; ++j)
        for (int i = 0; i < d; ++i) out[i] += s[j] / sum * value(j, i);
    return out;
}

std::vector<double> reference(const std::vector<float>& q, const std::vector<uint16_t>& k, const std::vector<uint16_t>& v,
                              size_t stride, int n_pos, int d, float scale, float cap = 0, size_t q0 = 0) {
    return reference_rows(q, [&](int j, int i) { return double(half_to_float(k[size_t(j) * stride + i])); },
                          [&](int j, int i) { return double(half_to_float(v[size_t(j) * stride + i])); }, n_pos, d, scale,
                          cap, q0);
}

// The kernel's contract as the session uses it: G heads over n_pos
// positions split into `parts` ranges, then merged. part(start, n, scratch,
// m, l, acc) runs the kernel on one range. out: G rows of d.
template <class Part>
std::vector<float> attend_parts(Part part, int G, int n_pos, int d, int parts) {
    const int chunk = (n_pos + parts - 1) / parts;
    parts = (n_pos + chunk - 1) / chunk;
    std::vector<float> m(size_t(parts) * G), l(size_t(parts) * G), acc(size_t(parts) * G * d);
    std::vector<float> scratch(attend_scratch_floats(chunk, d));
    for (int p = 0; p < parts; ++p) {
        const int start = p * chunk, n = std::min(chunk, n_pos - start);
        part(start, n, scratch.data(), &m[size_t(p) * G], &l[size_t(p) * G], &acc[size_t(p) * G * d]);
    }
    std::vector<float> out(size_t(G) * d + 4, 123.f);
    attend_merge(parts, G, d, m.data(), l.data(), acc.data(), out.data(), size_t(d));
    return out;
}

std::vector<float> attend(const KernelSet& k, const float* q, int G, const uint16_t* K, const uint16_t* V, size_t stride,
                          int n_pos, int d, float scale, float cap, int parts) {
    return attend_parts(
        [&](int start, int n, float* scratch, float* m, float* l, float* acc) {
            k.attend_f16(q, size_t(d), G, K + size_t(start) * stride, V + size_t(start) * stride, stride, n, d, scale, cap,
                         scratch, m, l, acc);
        },
        G, n_pos, d, parts);
}

}  // namespace

class TestAttention : public QObject {
    Q_OBJECT

    std::vector<std::pair<QString, KernelSet>> sets() {
        std::vector<std::pair<QString, KernelSet>> out{{"scalar", select_kernels(KernelChoice::Scalar)}};
        if (cpu_has_avx2_fma()) out.push_back({"avx2", select_kernels(KernelChoice::Avx2)});
        const KernelSet a = select_kernels(KernelChoice::Auto);
        if (QString(a.name) != "avx2" && QString(a.name) != "scalar") out.push_back({a.name, a});
        return out;
    }

private slots:
    // Every half survives half -> float -> half; the float values are the IEEE ones.
    void halfRoundTripsExactly() {
        for (uint32_t h = 0; h < 0x10000; ++h) {
            const float f = half_to_float(uint16_t(h));
            if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) {
                QVERIFY(std::isnan(f));
                continue;
            }
            QCOMPARE(float_to_half(f), uint16_t(h));
        }
        QCOMPARE(half_to_float(0x3c00), 1.0f);
        QCOMPARE(half_to_float(0xc000), -2.0f);
        QCOMPARE(half_to_float(0x7bff), 65504.0f);
        QCOMPARE(half_to_float(0x0001), std::ldexp(1.0f, -24));
        QVERIFY(std::isinf(half_to_float(0x7c00)));
    }

    // Rounding: nearest, ties to even, overflow to infinity, underflow through denormals to zero.
    void floatToHalfRounds() {
        QCOMPARE(float_to_half(1.0f + std::ldexp(1.0f, -11)), uint16_t(0x3c00));  // tie -> even (down)
        QCOMPARE(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)), uint16_t(0x3c02));  // tie -> even (up)
        QCOMPARE(float_to_half(65519.0f), uint16_t(0x7bff));
        QCOMPARE(float_to_half(65520.0f), uint16_t(0x7c00));
        QCOMPARE(float_to_half(-1e9f), uint16_t(0xfc00));
        QCOMPARE(float_to_half(std::ldexp(1.0f, -25)), uint16_t(0));       // half the smallest denormal: tie -> 0
        QCOMPARE(float_to_half(std::ldexp(1.5f, -25)), uint16_t(1));
        QCOMPARE(float_to_half(std::ldexp(3.0f, -25)), uint16_t(2));       // 1.5 denormal steps: tie -> even
        QCOMPARE(float_to_half(-0.0f), uint16_t(0x8000));
        QVERIFY((float_to_half(std::nanf("")) & 0x7c00) == 0x7c00 && (float_to_half(std::nanf("")) & 0x3ff));
    }

    // The SIMD row store rounds exactly like the portable one.
    void rowStoresMatchScalar() {
        std::mt19937 rng(5);
        std::vector<float> x;
        for (uint32_t b : {0x00000000u, 0x80000000u, 0x33000000u, 0x33400000u, 0x38800000u, 0x387fffffu, 0x477fe000u,
                           0x477ff000u, 0x477fefffu, 0x7f800000u, 0xff800000u, 0x3f801000u, 0x3f803000u})
            x.push_back(bits_to_float(b));
        std::uniform_int_distribution<int> e(-30, 17);
        std::uniform_real_distribution<float> m(-2.f, 2.f);
        for (int i = 0; i < 5000; ++i) x.push_back(std::ldexp(m(rng), e(rng)));
        for (auto& [name, k] : sets()) {
            for (size_t n : {x.size(), size_t(7), size_t(1)}) {
                std::vector<uint16_t> want(n), got(n + 8, 0xabcd);
                f32_to_f16_scalar(x.data(), want.data(), n);
                k.f32_to_f16(x.data(), got.data(), n);
                for (size_t i = 0; i < n; ++i)
                    if (want[i] != got[i])
                        QFAIL(qPrintable(QString("%1: %2 -> %3, expected %4").arg(name).arg(x[i]).arg(got[i]).arg(want[i])));
                for (size_t i = n; i < got.size(); ++i) QCOMPARE(got[i], uint16_t(0xabcd));
            }
        }
    }

    // Heads sharing a KV head, ranges of positions merged, soft caps: within
    // the tolerance of the double reference for every head.
    void attentionMatchesReference() {
        std::mt19937 rng(11);
        std::normal_distribution<float> nd(0.f, 1.f);
        for (auto& [name, k] : sets()) {
            for (int d : {8, 16, 24, 48, 64, 72, 80, 128, 256, 12})
                for (int n_pos : {1, 2, 3, 4, 5, 8, 9, 17, 100, 553})
                    for (float scale : {0.125f, 3.0f})  // 3.0: peaked softmax, most exps underflow
                        for (auto [G, parts, cap] : {std::tuple{1, 1, 0.f}, std::tuple{3, 2, 0.f}, std::tuple{2, 3, 5.f}, std::tuple{4, 2, 0.f}, std::tuple{5, 1, 0.f}, std::tuple{8, 3, 0.f}, std::tuple{7, 1, 5.f}}) {
                            const size_t stride = size_t(d) * 3 + 5;  // rows of several heads, odd spacing
                            std::vector<float> q(size_t(G) * d);
                            for (auto& e : q) e = nd(rng);
                            std::vector<uint16_t> K(stride * n_pos), V(stride * n_pos);
                            for (auto& e : K) e = float_to_half(nd(rng));
                            for (auto& e : V) e = float_to_half(nd(rng) * 4.f);
                            double vmax = 0;
                            for (auto e : V) vmax = std::max(vmax, double(std::fabs(half_to_float(e))));
                            const auto out = attend(k, q.data(), G, K.data(), V.data(), stride, n_pos, d, scale, cap, parts);
                            for (int g = 0; g < G; ++g) {
                                const auto want = reference(q, K, V, stride, n_pos, d, scale, cap, size_t(g) * d);
                                for (int i = 0; i < d; ++i)
                                    if (!(std::fabs(out[size_t(g) * d + i] - want[i]) <= 2e-5 * vmax))
                                        QFAIL(qPrintable(QString("%1 d %2 n_pos %3 scale %4 G %5 parts %6 cap %7 head %8 [%9]: %10 vs %11")
                                                             .arg(name).arg(d).arg(n_pos).arg(scale).arg(G).arg(parts).arg(cap).arg(g)
                                                             .arg(i).arg(out[size_t(g) * d + i]).arg(want[i])));
                            }
                            for (int i = G * d; i < G * d + 4; ++i) QCOMPARE(out[size_t(i)], 123.f);  // nothing written past the heads
                        }
        }
    }

    // The int8 cache: the same contract over rows k_scale[j] * K[j], checked
    // against the double reference over exactly those values.
    void int8AttentionMatchesReference() {
        std::mt19937 rng(13);
        std::normal_distribution<float> nd(0.f, 1.f);
        std::uniform_int_distribution<int> code(-127, 127);
        std::uniform_real_distribution<float> sd(0.001f, 0.05f);
        for (auto& [name, k] : sets()) {
            for (int d : {8, 48, 64, 72, 96, 128, 12})
                for (int n_pos : {1, 3, 9, 100, 553})
                    for (auto [G, parts, cap] : {std::tuple{1, 1, 0.f}, std::tuple{3, 2, 0.f}, std::tuple{2, 3, 5.f}, std::tuple{4, 2, 0.f}, std::tuple{7, 1, 0.f}}) {
                        const size_t stride = size_t(d) * 2 + 3;
                        const float scale = 1.f / std::sqrt(float(d));
                        std::vector<float> q(size_t(G) * d), ks(n_pos), vs(n_pos);
                        for (auto& e : q) e = nd(rng);
                        std::vector<int8_t> K(stride * n_pos), V(stride * n_pos);
                        for (auto& e : K) e = int8_t(code(rng));
                        for (auto& e : V) e = int8_t(code(rng));
                        for (auto& e : ks) e = sd(rng) * 10.f;
                        for (auto& e : vs) e = sd(rng);
                        double vmax = 0;
                        for (int j = 0; j < n_pos; ++j)
                            for (int i = 0; i < d; ++i) vmax = std::max(vmax, double(vs[j]) * std::abs(V[size_t(j) * stride + i]));
                        const auto out = attend_parts(
                            [&](int start, int n, float* scratch, float* m, float* l, float* acc) {
                                k.attend_q8(q.data(), size_t(d), G, &K[size_t(start) * stride], &V[size_t(start) * stride],
                                            &ks[start], &vs[start], stride, n, d, scale, cap, scratch, m, l, acc);
                            },
                            G, n_pos, d, parts);
                        for (int g = 0; g < G; ++g) {
                            const auto want = reference_rows(
                                q, [&](int j, int i) { return double(ks[j]) * K[size_t(j) * stride + i]; },
                                [&](int j, int i) { return double(vs[j]) * V[size_t(j) * stride + i]; }, n_pos, d, scale, cap,
                                size_t(g) * d);
                            for (int i = 0; i < d; ++i)
                                if (!(std::fabs(out[size_t(g) * d + i] - want[i]) <= 2e-5 * vmax))
                                    QFAIL(qPrintable(QString("%1 d %2 n_pos %3 G %4 parts %5 [%6]: %7 vs %8")
                                                         .arg(name).arg(d).arg(n_pos).arg(G).arg(parts).arg(i)
                                                         .arg(out[size_t(g) * d + i]).arg(want[i])));
                        }
                        for (int i = G * d; i < G * d + 4; ++i) QCOMPARE(out[size_t(i)], 123.f);
                    }
        }
    }

    // An int8 row store: the largest magnitude maps to +-127, every value
    // within half a step, a zero row to zeros with scale 0, nothing past n;
    // every set writes the scalar reference's bytes.
    void int8RowStoreRounds() {
        std::mt19937 rng(17);
        std::normal_distribution<float> nd(0.f, 3.f);
        for (auto& [name, k] : sets())
            for (size_t n : {size_t(1), size_t(7), size_t(8), size_t(64), size_t(70), size_t(256)}) {
                std::vector<float> x(n);
                for (auto& e : x) e = nd(rng);
                x[n / 2] = -20.f;  // the row's largest magnitude, negative
                if (n > 3) x[1] = 2.5f * 20.f / 127.f, x[2] = -3.5f * 20.f / 127.f;  // ties: to even
                std::vector<int8_t> y(n + 4, 99), want(n);
                const float s = k.f32_to_q8(x.data(), y.data(), n);
                QCOMPARE(s, 20.f / 127.f);
                QCOMPARE(f32_to_q8_scalar(x.data(), want.data(), n), s);
                QCOMPARE(int(y[n / 2]), -127);
                for (size_t i = 0; i < n; ++i) {
                    QVERIFY2(std::fabs(y[i] * s - x[i]) <= 0.5001f * s, qPrintable(QString("%1 [%2]").arg(name).arg(i)));
                    QVERIFY2(y[i] == want[i], qPrintable(QString("%1 [%2]: %3 vs %4").arg(name).arg(i).arg(y[i]).arg(want[i])));
                }
                for (size_t i = n; i < y.size(); ++i) QCOMPARE(int(y[i]), 99);
                std::vector<float> z(n, 0.f);
                QCOMPARE(k.f32_to_q8(z.data(), y.data(), n), 0.f);
                for (size_t i = 0; i < n; ++i) QCOMPARE(int(y[i]), 0);
            }
    }

    // SwiGLU with the vectorised exp: within 4 ulp-ish of libm over the range that matters, finite at the extremes.
    void siluMulMatchesLibm() {
        std::vector<float> g, u;
        for (float x = -120.f; x <= 120.f; x += 0.0371f) {
            g.push_back(x);
            u.push_back(0.5f + std::fabs(std::sin(x)));
        }
        for (auto& [name, k] : sets()) {
            std::vector<float> got = g;
            k.silu_mul(got.data(), u.data(), got.size());
            for (size_t i = 0; i < g.size(); ++i) {
                const double want = double(g[i]) / (1.0 + std::exp(-double(g[i]))) * u[i];
                if (!(std::fabs(got[i] - want) <= 1e-6 * std::fabs(want) + 1e-30))
                    QFAIL(qPrintable(QString("%1 silu(%2) * %3 = %4, expected %5").arg(name).arg(g[i]).arg(u[i]).arg(got[i]).arg(want)));
            }
        }
    }

    // Huge score spreads: the winner takes everything, no NaN or infinity.
    void extremeScoresStayFinite() {
        const int d = 64, n_pos = 40;
        std::vector<float> q(d, 0.f);
        q[0] = 1e4f;
        std::vector<uint16_t> K(size_t(d) * n_pos, 0), V(size_t(d) * n_pos, 0);
        for (int j = 0; j < n_pos; ++j) {
            K[size_t(j) * d] = float_to_half(j == 17 ? 1.0f : -1.0f);
            V[size_t(j) * d + 1] = float_to_half(float(j));
        }
        for (auto& [name, k] : sets())
            for (int parts : {1, 3}) {
                const auto out = attend(k, q.data(), 1, K.data(), V.data(), d, n_pos, d, 1.f, 0.f, parts);
                QVERIFY2(std::fabs(out[1] - 17.f) < 1e-5f, qPrintable(name));
                for (int i = 0; i < d; ++i) QVERIFY(std::isfinite(out[size_t(i)]));
            }
    }
};

QTEST_GUILESS_MAIN(TestAttention)
#include "test_attention.moc"
