// Error checks of the CUDA backend's .cu files: a failing runtime or cuBLAS
// call becomes a std::runtime_error naming the call, file and line.
#pragma once
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace ap::cuda {

[[noreturn]] inline void cuda_fail(const char* what, const char* err, const char* file, int line) {
    throw std::runtime_error(std::string("CUDA: ") + what + " failed: " + err + " (" + file + ":" +
                             std::to_string(line) + ")");
}

}  // namespace ap::cuda

#define AP_CUDA_CHECK(call)                                                                  \
    do {                                                                                     \
        const cudaError_t ap_err_ = (call);                                                  \
        if (ap_err_ != cudaSuccess) ::ap::cuda::cuda_fail(#call, cudaGetErrorString(ap_err_), __FILE__, __LINE__); \
    } while (0)
