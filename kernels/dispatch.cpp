// Picks the kernel set for this CPU once; callers keep the returned KernelSet.
#include "kernels.h"

#include <stdexcept>

namespace ap::kern {

#ifdef ANYPREC_HAVE_AVX2_KERNELS
KernelSet avx2_kernels();  // avx2.cpp, compiled with -mavx2 -mfma
double sum_f32_avx2(const float* x, size_t n);  // avx2_util.cpp
#endif

bool cpu_has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

static KernelSet scalar_kernels() {
    KernelSet k;
    k.name = "scalar";
    k.sum_f32 = sum_f32_scalar;
    k.gemm_f32 = gemm_f32_scalar;
    k.gemm_ap = gemm_ap_scalar;
    k.dequant_ap = dequant_ap_scalar;
    return k;
}

KernelSet select_kernels(KernelChoice c) {
#ifdef ANYPREC_HAVE_AVX2_KERNELS
    if (c != KernelChoice::Scalar && cpu_has_avx2_fma()) {
        KernelSet k = avx2_kernels();
        k.sum_f32 = sum_f32_avx2;
        return k;
    }
#endif
    if (c == KernelChoice::Avx2) throw std::runtime_error("AVX2 kernels requested but this CPU or build lacks AVX2+FMA");
    return scalar_kernels();
}

}  // namespace ap::kern
