// The dense fp16 reference the any-precision kernels are measured against:
// fp16 weights and activations through cublasGemmEx with fp32 accumulation.
#include "cuda_check.h"
#include "cuda_kernels.h"

#include <cublas_v2.h>
#include <cuda_fp16.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace ap::cuda {
namespace {

void blas_check(cublasStatus_t st, const char* what) {
    if (st != CUBLAS_STATUS_SUCCESS) cuda_fail(what, cublasGetStatusString(st), __FILE__, __LINE__);
}

// Workspace handed to cuBLAS (NVIDIA recommends 32 MiB on Hopper); owning it
// keeps graph capture from allocating.
constexpr size_t kCublasWorkspace = size_t(32) << 20;

}  // namespace

std::vector<uint16_t> to_half(const float* x, size_t n) {
    std::vector<uint16_t> h(n);
    for (size_t i = 0; i < n; ++i) {
        const __half v = __float2half_rn(x[i]);
        std::memcpy(&h[i], &v, sizeof(uint16_t));
    }
    return h;
}

DeviceHalfMatrix::DeviceHalfMatrix(const float* w, int rows, int cols)
    : rows_(rows), cols_(cols), buf_(size_t(rows) * cols * sizeof(uint16_t)) {
    if (rows <= 0 || cols <= 0) throw std::invalid_argument("DeviceHalfMatrix: bad shape");
    const std::vector<uint16_t> h = to_half(w, size_t(rows) * cols);
    buf_.upload(h.data(), h.size() * sizeof(uint16_t));
}

Cublas::Cublas() : workspace_(kCublasWorkspace) {
    cublasHandle_t h = nullptr;
    blas_check(cublasCreate(&h), "cublasCreate");
    h_ = h;
}
Cublas::~Cublas() {
    if (h_) cublasDestroy(static_cast<cublasHandle_t>(h_));
}

void gemv_f16_cublas(Cublas& blas, const DeviceHalfMatrix& w, const uint16_t* x, int ldx, int n, float* y, int ldy,
                     void* stream) {
    if (n < 1 || ldx < w.cols() || ldy < w.rows())
        throw std::invalid_argument("gemv_f16_cublas: bad token count or leading dimension");
    const auto h = static_cast<cublasHandle_t>(blas.handle());
    // Setting the stream resets the workspace to cuBLAS's own pool, so set it after.
    blas_check(cublasSetStream(h, static_cast<cudaStream_t>(stream)), "cublasSetStream");
    blas_check(cublasSetWorkspace(h, blas.workspace(), blas.workspace_bytes()), "cublasSetWorkspace");
    const float alpha = 1.f, beta = 0.f;
    // Row-major W [rows][cols] is column-major W^T (cols x rows, ld = cols): Y = (W^T)^T X.
    blas_check(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, w.rows(), n, w.cols(), &alpha, w.data(), CUDA_R_16F,
                            w.cols(), x, CUDA_R_16F, ldx, &beta, y, CUDA_R_32F, ldy, CUBLAS_COMPUTE_32F,
                            CUBLAS_GEMM_DEFAULT),
               "cublasGemmEx");
}

}  // namespace ap::cuda
