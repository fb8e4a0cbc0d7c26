// The GPU any-precision products (kernels/cuda) against the scalar reference
// gemm_ap_scalar at every width, on random matrices of odd shapes: GEMV with
// both lookups, small batches with padded leading dimensions, determinism of
// the split-K combine, the cuBLAS fp16 reference and the timing helpers.
// Activations past cols are NaN and output gaps hold sentinels, so reading or
// writing out of bounds fails a test. Without a GPU every test is skipped.
#include <QtTest>

#include "random_ap.h"
#include "cuda_kernels.h"
#include "kernels.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using ap::cuda::DeviceApMatrix;
using ap::cuda::DeviceBuffer;
using ap::cuda::Lookup;

namespace {

constexpr float kSentinel = 12345.f;

// Host values of IEEE fp16 bits.
float half_to_float(uint16_t h) {
    const int e = (h >> 10) & 31, m = h & 1023;
    const float v = e == 0 ? std::ldexp(float(m), -24) : e == 31 ? (m ? NAN : INFINITY) : std::ldexp(float(1024 + m), e - 25);
    return h & 0x8000 ? -v : v;
}

// Sum over k of |w[r][k] * x[t][k]| at `bits`: the scale of rounding differences.
std::vector<double> magnitudes(const ap::kern::ApMatrix& m, int bits, const std::vector<float>& x, int ldx, int n) {
    std::vector<double> mag(size_t(n) * m.rows);
    std::vector<float> row(m.cols);
    for (int r = 0; r < m.rows; ++r) {
        ap::kern::dequant_ap_scalar(m, bits, r, r + 1, row.data());
        for (int t = 0; t < n; ++t)
            for (int k = 0; k < m.cols; ++k) mag[size_t(t) * m.rows + r] += std::fabs(double(row[k]) * x[size_t(t) * ldx + k]);
    }
    return mag;
}

// x for n tokens at leading dimension ldx (random where k < cols, NaN in the
// gaps and in 64 floats past the end), starting `shift` floats into the buffer.
struct DeviceX {
    std::vector<float> host;  // the n * ldx values the reference reads
    DeviceBuffer buf;
    int shift;
    DeviceX(std::mt19937& rng, int n, int cols, int ldx, int shift) : shift(shift) {
        host.assign(size_t(n) * ldx, NAN);
        std::uniform_real_distribution<float> d(-1.f, 1.f);
        for (int t = 0; t < n; ++t)
            for (int k = 0; k < cols; ++k) host[size_t(t) * ldx + k] = d(rng);
        std::vector<float> padded(size_t(shift) + host.size() + 64, NAN);
        std::copy(host.begin(), host.end(), padded.begin() + shift);
        buf = DeviceBuffer(padded.size() * sizeof(float));
        buf.upload(padded.data(), buf.bytes());
    }
    const float* ptr() const { return buf.as<const float>() + shift; }
};

// One GPU product against gemm_ap_scalar; returns the GPU output.
std::vector<float> check_product(const ap::ApWeight& w, const DeviceApMatrix& dw, int bits, int n, int ldx, int ldy,
                                 Lookup lookup, std::mt19937& rng, int x_shift = 0) {
    const ap::kern::ApMatrix m = w.view();
    const DeviceX x(rng, n, m.cols, ldx, x_shift);
    std::vector<float> y(size_t(n) * ldy, kSentinel), ref(size_t(n) * ldy, kSentinel);
    DeviceBuffer dy(y.size() * sizeof(float));
    dy.upload(y.data(), dy.bytes());
    ap::cuda::gemv_ap(dw, bits, x.ptr(), ldx, n, dy.as<float>(), ldy, lookup);
    dy.download(y.data(), dy.bytes());
    ap::kern::gemm_ap_scalar(m, bits, x.host.data(), ldx, n, ref.data(), ldy, 0, m.rows);
    const std::vector<double> mag = magnitudes(m, bits, x.host, ldx, n);
    const QString where = QString("%1x%2 width %3 tokens %4 %5").arg(m.rows).arg(m.cols).arg(bits).arg(n)
                              .arg(lookup == Lookup::Pairs ? "pairs" : "single");
    for (int t = 0; t < n; ++t)
        for (int r = 0; r < ldy; ++r) {
            const float g = y[size_t(t) * ldy + r];
            if (r >= m.rows) {
                if (g != kSentinel) QTest::qFail(qPrintable(where + QString(": wrote the gap at token %1 row %2").arg(t).arg(r)), __FILE__, __LINE__);
                continue;
            }
            const float e = ref[size_t(t) * ldy + r];
            const double tol = 2e-5 * mag[size_t(t) * m.rows + r] + 1e-30;
            if (!std::isfinite(g) || std::fabs(double(g) - e) > tol) {
                QTest::qFail(qPrintable(where + QString(": token %1 row %2: %3 vs reference %4").arg(t).arg(r).arg(g).arg(e)),
                             __FILE__, __LINE__);
                return y;
            }
        }
    return y;
}

struct Shape {
    int rows, cols;
};
// Ragged everything: rows not a multiple of a block's rows, words not a
// multiple of a slice, columns not a multiple of 32; 1..5 slices.
const Shape kShapes[] = {{1, 1}, {3, 31}, {7, 77}, {65, 1000}, {130, 1056}, {257, 2100}, {64, 4096}, {33, 5000}, {1000, 3000}};

}  // namespace

class TestCudaGemv : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        if (!ap::cuda::device_available()) QSKIP("skipped: no GPU");
        const ap::cuda::DeviceInfo d = ap::cuda::device_info();
        qInfo("%s, %d SMs, compute %d.%d, %.0f GB/s peak", d.name.c_str(), d.sm_count, d.cc_major, d.cc_minor, d.peak_gbps);
    }

    void gemvEveryWidth() {
        std::mt19937 rng(11);
        for (const Shape& s : kShapes) {
            const ap::ApWeight w = aptest::random_ap_weight(rng, s.rows, s.cols, 2, 8);
            const DeviceApMatrix dw(w.view());
            for (int b = 2; b <= 8; ++b) {
                check_product(w, dw, b, 1, s.cols, s.rows, Lookup::Single, rng);
                if (b <= 4) check_product(w, dw, b, 1, s.cols, s.rows, Lookup::Pairs, rng);
                // Misaligned activations take the scalar load path.
                check_product(w, dw, b, 1, s.cols, s.rows, Lookup::Single, rng, 1);
                if (QTest::currentTestFailed()) return;
            }
        }
    }

    void parentNarrowerThan8() {
        // Planes of a 5-bit parent: plane p of row r sits at (p * rows + r) * words.
        std::mt19937 rng(12);
        const ap::ApWeight w = aptest::random_ap_weight(rng, 300, 1500, 3, 5);
        const DeviceApMatrix dw(w.view());
        for (int b = 3; b <= 5; ++b) {
            check_product(w, dw, b, 1, 1500, 300, Lookup::Single, rng);
            check_product(w, dw, b, 4, 1500, 300, Lookup::Single, rng);
        }
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, ap::cuda::gemv_ap(dw, 6, dw.workspace(), 1500, 1, dw.workspace(), 300));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, ap::cuda::gemv_ap(dw, 2, dw.workspace(), 1500, 1, dw.workspace(), 300));
    }

    void smallBatchEveryWidth() {
        std::mt19937 rng(13);
        const Shape shapes[] = {{5, 40}, {70, 1100}, {129, 3000}};
        const int tokens[] = {2, 3, 4, 5, 8, 11};
        for (const Shape& s : shapes) {
            const ap::ApWeight w = aptest::random_ap_weight(rng, s.rows, s.cols, 2, 8);
            const DeviceApMatrix dw(w.view());
            for (int b = 2; b <= 8; ++b)
                for (int n : tokens) {
                    check_product(w, dw, b, n, s.cols + 3, s.rows + 2, Lookup::Single, rng);
                    if (QTest::currentTestFailed()) return;
                }
        }
    }

    void splitKIsDeterministic() {
        // Several slices meet through the workspace and the chunk counters;
        // repeats (with other widths in between) must give identical bits.
        std::mt19937 rng(14);
        const int rows = 777, cols = 4500;
        const ap::ApWeight w = aptest::random_ap_weight(rng, rows, cols, 3, 8);
        const DeviceApMatrix dw(w.view());
        const std::vector<float> xs = aptest::random_floats(rng, size_t(cols) * 3);
        DeviceBuffer dx(xs.size() * sizeof(float)), dy(size_t(rows) * 3 * sizeof(float));
        dx.upload(xs.data(), dx.bytes());
        for (int n : {1, 3}) {
            std::vector<float> first(size_t(rows) * n), again(first.size());
            ap::cuda::gemv_ap(dw, 5, dx.as<float>(), cols, n, dy.as<float>(), rows);
            dy.download(first.data(), first.size() * sizeof(float));
            for (int rep = 0; rep < 3; ++rep) {
                ap::cuda::gemv_ap(dw, 3 + rep, dx.as<float>(), cols, n, dy.as<float>(), rows);
                ap::cuda::gemv_ap(dw, 5, dx.as<float>(), cols, n, dy.as<float>(), rows);
                dy.download(again.data(), again.size() * sizeof(float));
                QVERIFY(std::memcmp(first.data(), again.data(), first.size() * sizeof(float)) == 0);
            }
        }
    }

    void cublasReference() {
        std::mt19937 rng(15);
        const int rows = 300, cols = 1000;
        const std::vector<float> wf = aptest::random_floats(rng, size_t(rows) * cols);
        const ap::cuda::DeviceHalfMatrix dw(wf.data(), rows, cols);
        ap::cuda::Cublas blas;
        for (int n : {1, 3}) {
            const std::vector<float> xf = aptest::random_floats(rng, size_t(n) * cols);
            const std::vector<uint16_t> xh = ap::cuda::to_half(xf.data(), xf.size());
            const std::vector<uint16_t> wh = ap::cuda::to_half(wf.data(), wf.size());
            DeviceBuffer dx(xh.size() * 2), dy(size_t(n) * rows * 4);
            dx.upload(xh.data(), dx.bytes());
            ap::cuda::gemv_f16_cublas(blas, dw, dx.as<uint16_t>(), cols, n, dy.as<float>(), rows);
            std::vector<float> y(size_t(n) * rows);
            dy.download(y.data(), dy.bytes());
            for (int t = 0; t < n; ++t)
                for (int r = 0; r < rows; ++r) {
                    double s = 0, mag = 0;
                    for (int k = 0; k < cols; ++k) {
                        const double p = double(half_to_float(wh[size_t(r) * cols + k])) * half_to_float(xh[size_t(t) * cols + k]);
                        s += p;
                        mag += std::fabs(p);
                    }
                    QVERIFY2(std::fabs(y[size_t(t) * rows + r] - s) <= 1e-4 * mag,
                             qPrintable(QString("token %1 row %2: %3 vs %4").arg(t).arg(r).arg(y[size_t(t) * rows + r]).arg(s)));
                }
        }
    }

    void lowerWidthIsFaster() {
        // The point of any precision: at 3 bits a memory-bound GEMV reads 2.6x
        // fewer bytes than at 8 and must take clearly less time.
        std::mt19937 rng(16);
        const int rows = 8192, cols = 8192;
        const ap::ApWeight w = aptest::random_ap_weight(rng, rows, cols, 3, 8);
        const DeviceApMatrix dw(w.view());
        const std::vector<float> xs = aptest::random_floats(rng, cols);
        DeviceBuffer dx(cols * sizeof(float)), dy(rows * sizeof(float));
        dx.upload(xs.data(), dx.bytes());
        ap::cuda::Stream stream;
        auto time_at = [&](int b) {
            return ap::cuda::time_graph_ms(
                [&](void* s) { ap::cuda::gemv_ap(dw, b, dx.as<float>(), cols, 1, dy.as<float>(), rows, Lookup::Single, s); },
                20, 5, stream);
        };
        const double t3 = time_at(3), t8 = time_at(8);
        qInfo("8192x8192: %.1f us at 3 bits, %.1f us at 8 bits", t3 * 1e3, t8 * 1e3);
        QVERIFY(t3 > 0 && t8 > 0);
        QVERIFY2(t3 < 0.75 * t8, qPrintable(QString("3 bits %1 ms, 8 bits %2 ms").arg(t3).arg(t8)));
        QVERIFY(ap::cuda::measure_copy_gbps(size_t(64) << 20, stream) > 0);
    }
};

QTEST_GUILESS_MAIN(TestCudaGemv)
#include "test_cuda_gemv.moc"
