// Plain C++ interface of the CUDA backend (no CUDA headers needed): device
// buffers, a device copy of an any-precision matrix, GEMV/small-batch products
// at any stored width, the dense fp16 cuBLAS reference, and event timing.
// Every function throws std::runtime_error naming the failing CUDA call.
// Streams are passed as void* (a cudaStream_t); nullptr is the default stream.
#pragma once
#include "ap_matrix.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ap::cuda {

// Whether a CUDA device is usable (cudaGetDeviceCount > 0; false on any error,
// e.g. no driver).
bool device_available();

// What the benchmark needs to know about the current device.
struct DeviceInfo {
    std::string name;
    int sm_count = 0;
    int cc_major = 0, cc_minor = 0;
    double peak_gbps = 0;      // 2 * memory clock * bus width (DDR), GB/s
    size_t l2_bytes = 0;
    size_t global_bytes = 0;
};
DeviceInfo device_info();

// One owned device allocation (cudaMalloc / cudaFree).
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    explicit DeviceBuffer(size_t bytes);
    ~DeviceBuffer();
    DeviceBuffer(DeviceBuffer&& o) noexcept;
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;

    void* data() const { return ptr_; }
    template <class T> T* as() const { return static_cast<T*>(ptr_); }
    size_t bytes() const { return bytes_; }
    // Synchronous copies at a byte offset.
    void upload(const void* src, size_t bytes, size_t offset = 0);
    void download(void* dst, size_t bytes, size_t offset = 0) const;
    void fill_bytes(int value);

private:
    void* ptr_ = nullptr;
    size_t bytes_ = 0;
};

// Host conversion to IEEE fp16 bits (round to nearest even).
std::vector<uint16_t> to_half(const float* x, size_t n);

// A created CUDA stream (graph capture needs one that is not the default).
class Stream {
public:
    Stream();
    ~Stream();
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    void* get() const { return s_; }
    void sync() const;

private:
    void* s_ = nullptr;
};

// How the GEMV looks weights up at 2..4 bits: one fp32 table entry per weight,
// or a merged table of pairs (one 64-bit lookup per two weights). Single is
// the default: its tables (<= 16 entries) never cause shared-memory bank
// conflicts, while pair tables (64..256 entries of 8 bytes) do; the benchmark
// prints both so the choice rests on measurement.
enum class Lookup { Single, Pairs };

// Device copy of an ApMatrix: all parent planes, every stored width's int8
// table and {scale, offset}, plus the split-K workspace of the products.
// Launches that use one DeviceApMatrix must not overlap (one stream at a time):
// they share that workspace.
class DeviceApMatrix {
public:
    explicit DeviceApMatrix(const kern::ApMatrix& m);
    int rows() const { return rows_; }
    int cols() const { return cols_; }
    int words() const { return words_; }
    int seed_bits() const { return seed_; }
    int parent_bits() const { return parent_; }
    // View with device pointers (for the kernels; do not dereference on the host).
    kern::ApMatrix device_view() const;
    uint64_t device_bytes() const;  // planes + tables, without the workspace

    // For the launcher: split-K workspace, per-chunk counters, and the
    // device's shared-memory limit per block (queried once here, so launches
    // make no runtime queries and can be captured in a graph).
    float* workspace() const { return ws_.as<float>(); }
    unsigned* counters() const { return counters_.as<unsigned>(); }
    int smem_optin() const { return smem_optin_; }

private:
    int rows_ = 0, cols_ = 0, words_ = 0, seed_ = 0, parent_ = 0, smem_optin_ = 0;
    DeviceBuffer planes_, ws_, counters_;
    DeviceBuffer lut_[kern::kMaxBits + 1], affine_[kern::kMaxBits + 1];
};

// Y[t * ldy + r] = sum_k W_bits[r][k] * X[t * ldx + k] for every row r and
// token t < n, X and Y in device memory (fp32), accumulation in fp32. bits
// must be one of the matrix's stored widths (seed..parent). n == 1 runs the
// GEMV kernel; larger n the small-batch kernel, 8 tokens per launch.
// Reads only planes 0..bits-1 and the bits-wide tables.
void gemv_ap(const DeviceApMatrix& w, int bits, const float* x, int ldx, int n, float* y, int ldy,
             Lookup lookup = Lookup::Single, void* stream = nullptr);

// Dense fp16 weights [rows][cols] for the cuBLAS reference.
class DeviceHalfMatrix {
public:
    DeviceHalfMatrix(const float* w, int rows, int cols);  // rounds to fp16
    int rows() const { return rows_; }
    int cols() const { return cols_; }
    const uint16_t* data() const { return buf_.as<uint16_t>(); }
    uint64_t bytes() const { return buf_.bytes(); }

private:
    int rows_, cols_;
    DeviceBuffer buf_;
};

// A cuBLAS handle with its own workspace (so graph capture never allocates).
class Cublas {
public:
    Cublas();
    ~Cublas();
    Cublas(const Cublas&) = delete;
    Cublas& operator=(const Cublas&) = delete;
    void* handle() const { return h_; }
    void* workspace() const { return workspace_.data(); }
    size_t workspace_bytes() const { return workspace_.bytes(); }

private:
    void* h_ = nullptr;
    DeviceBuffer workspace_;
};

// Dense reference: Y[t * ldy + r] = sum_k W[r][k] * X[t * ldx + k] with fp16
// W and X, fp32 Y and fp32 accumulation (cublasGemmEx; n == 1 is a GEMV).
void gemv_f16_cublas(Cublas& blas, const DeviceHalfMatrix& w, const uint16_t* x, int ldx, int n, float* y,
                     int ldy, void* stream = nullptr);

// Milliseconds per call of launch(stream): `launch` is called `calls` times
// while capturing one CUDA graph on `stream` (so host launch overhead does not
// count), the graph is replayed once to warm up, then `reps` times between
// two CUDA events. Returns event time / (calls * reps).
double time_graph_ms(const std::function<void(void* stream)>& launch, int calls, int reps, Stream& stream);

// Device-to-device copy bandwidth in GB/s (bytes read + bytes written per
// second) over a copy of `bytes`.
double measure_copy_gbps(size_t bytes, Stream& stream);

}  // namespace ap::cuda
