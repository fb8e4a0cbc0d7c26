// anyprec_cuda_bench: any-precision GEMV at every width against the dense
// fp16 cuBLAS GEMV, on random N(0, 0.02) weights run through the real
// quantizer (anyprec, seed 3, parent 8) for LLM-sized shapes. Prints time,
// effective GB/s (ap_bytes_read / time), the fraction of the device's peak and
// of its measured copy bandwidth, and the speedup over fp16.
//
// Each timing captures many launches in one CUDA graph (no launch overhead)
// and rotates through enough copies of the matrix that they cannot sit in L2.
#include "cuda_kernels.h"
#include "kernels.h"
#include "quantize_matrix.h"
#include "thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using ap::cuda::DeviceBuffer;

struct Options {
    std::vector<std::pair<int, int>> shapes = {{4096, 4096}, {14336, 4096}, {4096, 14336}, {28672, 8192}};
    int tokens = 1;
    int threads = 0;  // quantizer threads; 0 = all CPUs
};

void usage() {
    std::puts(
        "usage: anyprec_cuda_bench [--shapes RxC,RxC,...] [--tokens N] [--threads N]\n"
        "  --shapes   rows x cols of the weight matrices (default 4096x4096,14336x4096,4096x14336,28672x8192)\n"
        "  --tokens   activations per product: 1 is a GEMV, 2..8 the small-batch kernel (default 1)\n"
        "  --threads  quantizer threads (default: all CPUs)");
}

bool parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") return false;
        if (i + 1 >= argc) return false;
        const std::string v = argv[++i];
        if (a == "--tokens") o.tokens = std::atoi(v.c_str());
        else if (a == "--threads") o.threads = std::atoi(v.c_str());
        else if (a == "--shapes") {
            o.shapes.clear();
            std::stringstream ss(v);
            std::string item;
            while (std::getline(ss, item, ',')) {
                int r = 0, c = 0;
                if (std::sscanf(item.c_str(), "%dx%d", &r, &c) != 2 || r <= 0 || c <= 0) return false;
                o.shapes.emplace_back(r, c);
            }
        } else return false;
    }
    return o.tokens >= 1 && !o.shapes.empty();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// How many copies of `bytes_per_call` bytes keep a rotation out of L2 (4x its
// size), within a quarter of device memory.
int rotation_copies(uint64_t bytes_per_call, uint64_t copy_bytes, const ap::cuda::DeviceInfo& d) {
    const uint64_t want = (4 * uint64_t(d.l2_bytes) + bytes_per_call - 1) / bytes_per_call;
    const uint64_t room = std::max<uint64_t>(1, d.global_bytes / 4 / std::max<uint64_t>(copy_bytes, 1));
    return int(std::clamp<uint64_t>(want, 1, std::min<uint64_t>(room, 64)));
}

// Launches per graph: a multiple of the rotation, at least 20.
int graph_calls(int copies) { return copies * ((20 + copies - 1) / copies); }

struct Row {
    std::string label;
    double us, gbps;
};

// Percent of `ref` GB/s, or "-" where the device did not report it.
std::string percent(double gbps, double ref) {
    char buf[16];
    if (ref > 0) std::snprintf(buf, sizeof buf, "%.1f", 100 * gbps / ref);
    else std::snprintf(buf, sizeof buf, "-");
    return buf;
}

void print_row(const Row& r, double peak, double copy, double fp16_us) {
    std::printf("  %-14s %9.2f %9.1f %7s %7s %8.2fx\n", r.label.c_str(), r.us, r.gbps, percent(r.gbps, peak).c_str(),
                percent(r.gbps, copy).c_str(), fp16_us / r.us);
}

void bench_shape(int rows, int cols, const Options& o, ap::ThreadPool& pool, const ap::cuda::DeviceInfo& dev,
                 double copy_gbps, ap::cuda::Stream& stream) {
    std::mt19937 rng(uint32_t(rows) * 31 + uint32_t(cols));
    std::normal_distribution<float> nd(0.f, 0.02f);
    std::vector<float> wf(size_t(rows) * cols);
    for (auto& v : wf) v = nd(rng);
    const auto t0 = std::chrono::steady_clock::now();
    ap::MatrixJob job;
    job.name = std::to_string(rows) + "x" + std::to_string(cols);
    job.w = wf.data();
    job.rows = rows;
    job.cols = cols;
    const std::shared_ptr<ap::ApWeight> q = ap::quantize_matrix(job, pool, nullptr, {});
    const double quant_s = seconds_since(t0);
    const ap::kern::ApMatrix m = q->view();
    const int n = o.tokens;

    // Activations (fp32 for ours, fp16 for cuBLAS) and outputs.
    std::vector<float> xs(size_t(n) * cols);
    for (auto& v : xs) v = std::uniform_real_distribution<float>(-1.f, 1.f)(rng);
    const std::vector<uint16_t> xh = ap::cuda::to_half(xs.data(), xs.size());
    DeviceBuffer dx(xs.size() * 4), dxh(xh.size() * 2), dy(size_t(n) * rows * 4), dyh(size_t(n) * rows * 4);
    dx.upload(xs.data(), dx.bytes());
    dxh.upload(xh.data(), dxh.bytes());

    // Dense fp16 copy of the 8-bit weights: same values, so the outputs must agree.
    std::vector<float> deq(size_t(rows) * cols);
    ap::kern::dequant_ap_scalar(m, m.parent_bits, 0, rows, deq.data());
    const uint64_t f16_bytes = uint64_t(rows) * cols * 2;
    const int f16_copies = rotation_copies(f16_bytes, f16_bytes, dev);
    std::vector<std::unique_ptr<ap::cuda::DeviceHalfMatrix>> dense;
    for (int i = 0; i < f16_copies; ++i) dense.push_back(std::make_unique<ap::cuda::DeviceHalfMatrix>(deq.data(), rows, cols));
    deq = {};
    wf = {};

    const uint64_t ap_bytes_min = ap::kern::ap_bytes_read(m, m.seed_bits);
    std::vector<std::unique_ptr<ap::cuda::DeviceApMatrix>> aps;
    aps.push_back(std::make_unique<ap::cuda::DeviceApMatrix>(m));
    const int ap_copies = rotation_copies(ap_bytes_min, aps[0]->device_bytes(), dev);
    while (int(aps.size()) < ap_copies) aps.push_back(std::make_unique<ap::cuda::DeviceApMatrix>(m));

    std::printf("\n%dx%d, %d token%s: quantized in %.1f s (%d threads); rotating %d fp16 / %d any-precision copies\n",
                rows, cols, n, n > 1 ? "s" : "", quant_s, pool.size(), f16_copies, ap_copies);
    std::printf("  %-14s %9s %9s %7s %7s %9s\n", "width", "time_us", "GB/s", "%peak", "%copy", "vs_fp16");

    ap::cuda::Cublas blas;
    int next = 0;
    const double f16_ms = ap::cuda::time_graph_ms(
        [&](void* s) {
            ap::cuda::gemv_f16_cublas(blas, *dense[next++ % f16_copies], dxh.as<uint16_t>(), cols, n, dyh.as<float>(), rows, s);
        },
        graph_calls(f16_copies), 10, stream);
    const Row f16{"fp16 cuBLAS", f16_ms * 1e3, double(f16_bytes) / (f16_ms * 1e6)};

    std::vector<Row> out;
    for (int b = m.seed_bits; b <= m.parent_bits; ++b) {
        for (ap::cuda::Lookup lk : {ap::cuda::Lookup::Single, ap::cuda::Lookup::Pairs}) {
            if (lk == ap::cuda::Lookup::Pairs && (b > 4 || n > 1)) continue;
            next = 0;
            const double ms = ap::cuda::time_graph_ms(
                [&](void* s) { ap::cuda::gemv_ap(*aps[next++ % ap_copies], b, dx.as<float>(), cols, n, dy.as<float>(), rows, lk, s); },
                graph_calls(ap_copies), 10, stream);
            const double bytes = double(ap::kern::ap_bytes_read(m, b));
            out.push_back({std::to_string(b) + (lk == ap::cuda::Lookup::Pairs ? " bits pairs" : " bits"), ms * 1e3,
                           bytes / (ms * 1e6)});
        }
    }
    for (const Row& r : out) print_row(r, dev.peak_gbps, copy_gbps, f16.us);
    print_row(f16, dev.peak_gbps, copy_gbps, f16.us);

    // Sanity: 8 bits (fp32 x) against cuBLAS on the same weights (fp16 x).
    ap::cuda::gemv_ap(*aps[0], m.parent_bits, dx.as<float>(), cols, n, dy.as<float>(), rows);
    ap::cuda::gemv_f16_cublas(blas, *dense[0], dxh.as<uint16_t>(), cols, n, dyh.as<float>(), rows);
    std::vector<float> ya(size_t(n) * rows), yh(ya.size());
    dy.download(ya.data(), dy.bytes());
    dyh.download(yh.data(), dyh.bytes());
    double diff = 0, scale = 0;
    for (size_t i = 0; i < ya.size(); ++i) {
        diff = std::max(diff, double(std::fabs(ya[i] - yh[i])));
        scale = std::max(scale, double(std::fabs(yh[i])));
    }
    std::printf("  check: %d-bit output vs cuBLAS on the same weights: max |diff| / max |y| = %.2e\n", m.parent_bits,
                scale > 0 ? diff / scale : diff);
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parse(argc, argv, o)) {
        usage();
        return 2;
    }
    if (!ap::cuda::device_available()) {
        std::puts("anyprec_cuda_bench: no CUDA device");
        return 1;
    }
    try {
        const ap::cuda::DeviceInfo dev = ap::cuda::device_info();
        ap::cuda::Stream stream;
        const double copy = ap::cuda::measure_copy_gbps(size_t(1) << 30, stream);
        std::printf("%s: %d SMs, compute %d.%d, L2 %.0f MiB, peak %.0f GB/s (memory clock x bus width), "
                    "device-to-device copy %.0f GB/s\n",
                    dev.name.c_str(), dev.sm_count, dev.cc_major, dev.cc_minor, dev.l2_bytes / 1048576.0, dev.peak_gbps,
                    copy);
        std::printf("GB/s counts weight bytes read: b planes + b-bit int8 tables and {scale, offset} (ap_bytes_read), "
                    "2 bytes per weight for fp16.\n");
        ap::ThreadPool pool(o.threads);
        for (const auto& [r, c] : o.shapes) bench_shape(r, c, o, pool, dev, copy, stream);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "anyprec_cuda_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
