// Device plumbing of the CUDA backend: buffers, streams, device facts, the
// device copy of an any-precision matrix, graph timing and copy bandwidth.
#include "ap_launch.h"
#include "cuda_check.h"
#include "cuda_kernels.h"

#include <cuda_runtime.h>

#include <stdexcept>
#include <utility>

namespace ap::cuda {

bool device_available() {
    int n = 0;
    return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

DeviceInfo device_info() {
    int dev = 0;
    AP_CUDA_CHECK(cudaGetDevice(&dev));
    cudaDeviceProp prop{};
    AP_CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
    auto attr = [dev](cudaDeviceAttr a) {
        int v = 0;
        AP_CUDA_CHECK(cudaDeviceGetAttribute(&v, a, dev));
        return v;
    };
    DeviceInfo d;
    d.name = prop.name;
    d.global_bytes = prop.totalGlobalMem;
    d.sm_count = attr(cudaDevAttrMultiProcessorCount);
    d.cc_major = attr(cudaDevAttrComputeCapabilityMajor);
    d.cc_minor = attr(cudaDevAttrComputeCapabilityMinor);
    d.l2_bytes = size_t(attr(cudaDevAttrL2CacheSize));
    // Memory clock in kHz, bus width in bits; two transfers per clock.
    d.peak_gbps = 2.0 * attr(cudaDevAttrMemoryClockRate) * 1e3 * (attr(cudaDevAttrGlobalMemoryBusWidth) / 8.0) / 1e9;
    return d;
}

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
    if (bytes) AP_CUDA_CHECK(cudaMalloc(&ptr_, bytes));
}
DeviceBuffer::~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
}
DeviceBuffer::DeviceBuffer(DeviceBuffer&& o) noexcept
    : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
        if (ptr_) cudaFree(ptr_);
        ptr_ = std::exchange(o.ptr_, nullptr);
        bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
}
void DeviceBuffer::upload(const void* src, size_t bytes, size_t offset) {
    if (offset + bytes > bytes_) throw std::out_of_range("DeviceBuffer::upload past the end");
    if (bytes) AP_CUDA_CHECK(cudaMemcpy(static_cast<char*>(ptr_) + offset, src, bytes, cudaMemcpyHostToDevice));
}
void DeviceBuffer::download(void* dst, size_t bytes, size_t offset) const {
    if (offset + bytes > bytes_) throw std::out_of_range("DeviceBuffer::download past the end");
    if (bytes) AP_CUDA_CHECK(cudaMemcpy(dst, static_cast<const char*>(ptr_) + offset, bytes, cudaMemcpyDeviceToHost));
}
void DeviceBuffer::fill_bytes(int value) {
    if (bytes_) AP_CUDA_CHECK(cudaMemset(ptr_, value, bytes_));
}

Stream::Stream() {
    cudaStream_t s = nullptr;
    AP_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    s_ = s;
}
Stream::~Stream() {
    if (s_) cudaStreamDestroy(static_cast<cudaStream_t>(s_));
}
void Stream::sync() const { AP_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(s_))); }

DeviceApMatrix::DeviceApMatrix(const kern::ApMatrix& m)
    : rows_(m.rows), cols_(m.cols), words_(m.words), seed_(m.seed_bits), parent_(m.parent_bits) {
    if (m.rows <= 0 || m.cols <= 0 || m.words != (m.cols + 31) / 32 || m.seed_bits < kern::kMinBits ||
        m.parent_bits > kern::kMaxBits || m.seed_bits > m.parent_bits || !m.planes)
        throw std::invalid_argument("DeviceApMatrix: bad shape or widths");
    const size_t rows = size_t(m.rows);
    planes_ = DeviceBuffer(size_t(m.parent_bits) * rows * m.words * sizeof(uint32_t));
    planes_.upload(m.planes, planes_.bytes());
    for (int b = m.seed_bits; b <= m.parent_bits; ++b) {
        if (!m.lut[b] || !m.lut_affine[b]) throw std::invalid_argument("DeviceApMatrix: missing table");
        lut_[b] = DeviceBuffer(rows << b);
        lut_[b].upload(m.lut[b], lut_[b].bytes());
        affine_[b] = DeviceBuffer(rows * 2 * sizeof(float));
        affine_[b].upload(m.lut_affine[b], affine_[b].bytes());
    }
    ws_ = DeviceBuffer(size_t(ap_slices(m.words)) * rows * kApMaxTokens * sizeof(float));
    counters_ = DeviceBuffer((rows + kApMinRowsPerBlock - 1) / kApMinRowsPerBlock * sizeof(unsigned));
    counters_.fill_bytes(0);
    smem_optin_ = prepare_ap_kernels();
}

kern::ApMatrix DeviceApMatrix::device_view() const {
    kern::ApMatrix v;
    v.rows = rows_;
    v.cols = cols_;
    v.words = words_;
    v.seed_bits = seed_;
    v.parent_bits = parent_;
    v.planes = planes_.as<const uint32_t>();
    for (int b = seed_; b <= parent_; ++b) {
        v.lut[b] = lut_[b].as<const int8_t>();
        v.lut_affine[b] = affine_[b].as<const float>();
    }
    return v;
}

uint64_t DeviceApMatrix::device_bytes() const {
    uint64_t s = planes_.bytes();
    for (int b = seed_; b <= parent_; ++b) s += lut_[b].bytes() + affine_[b].bytes();
    return s;
}

namespace {

// Pairs two CUDA events around work on one stream.
struct EventPair {
    cudaEvent_t start = nullptr, stop = nullptr;
    EventPair() {
        AP_CUDA_CHECK(cudaEventCreate(&start));
        AP_CUDA_CHECK(cudaEventCreate(&stop));
    }
    ~EventPair() {
        cudaEventDestroy(start);
        cudaEventDestroy(stop);
    }
    float ms() const {
        float v = 0;
        AP_CUDA_CHECK(cudaEventSynchronize(stop));
        AP_CUDA_CHECK(cudaEventElapsedTime(&v, start, stop));
        return v;
    }
};

// Owns a captured graph and its executable form.
struct Graph {
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    ~Graph() {
        if (exec) cudaGraphExecDestroy(exec);
        if (graph) cudaGraphDestroy(graph);
    }
};

}  // namespace

double time_graph_ms(const std::function<void(void* stream)>& launch, int calls, int reps, Stream& stream) {
    if (calls < 1 || reps < 1) throw std::invalid_argument("time_graph_ms: calls and reps must be positive");
    const cudaStream_t s = static_cast<cudaStream_t>(stream.get());
    // One plain call first: lazy module loading and library set-up happen outside the capture.
    launch(s);
    stream.sync();
    Graph g;
    AP_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    try {
        for (int i = 0; i < calls; ++i) launch(s);
    } catch (...) {
        cudaStreamEndCapture(s, &g.graph);  // leave the stream usable
        throw;
    }
    AP_CUDA_CHECK(cudaStreamEndCapture(s, &g.graph));
    AP_CUDA_CHECK(cudaGraphInstantiate(&g.exec, g.graph, 0));
    AP_CUDA_CHECK(cudaGraphLaunch(g.exec, s));
    stream.sync();
    EventPair ev;
    AP_CUDA_CHECK(cudaEventRecord(ev.start, s));
    for (int i = 0; i < reps; ++i) AP_CUDA_CHECK(cudaGraphLaunch(g.exec, s));
    AP_CUDA_CHECK(cudaEventRecord(ev.stop, s));
    return double(ev.ms()) / (double(calls) * reps);
}

double measure_copy_gbps(size_t bytes, Stream& stream) {
    const cudaStream_t s = static_cast<cudaStream_t>(stream.get());
    DeviceBuffer a(bytes), b(bytes);
    a.fill_bytes(1);
    AP_CUDA_CHECK(cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice, s));
    stream.sync();
    constexpr int kReps = 10;
    EventPair ev;
    AP_CUDA_CHECK(cudaEventRecord(ev.start, s));
    for (int i = 0; i < kReps; ++i)
        AP_CUDA_CHECK(cudaMemcpyAsync(i % 2 ? a.data() : b.data(), i % 2 ? b.data() : a.data(), bytes,
                                      cudaMemcpyDeviceToDevice, s));
    AP_CUDA_CHECK(cudaEventRecord(ev.stop, s));
    return 2.0 * double(bytes) * kReps / (double(ev.ms()) * 1e6);
}

}  // namespace ap::cuda
