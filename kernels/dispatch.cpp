// Picks the kernel set for this CPU once; callers keep the returned KernelSet.
#include "kernels.h"
#include "avx512_kernels.h"

#include <stdexcept>

namespace ap::kern {

#ifdef ANYPREC_HAVE_AVX2_KERNELS
KernelSet avx2_kernels(bool vnni);  // avx2.cpp, compiled with -mavx2 -mfma
double sum_f32_avx2(const float* x, size_t n);  // avx2_util.cpp
#endif
#ifdef ANYPREC_HAVE_AVX512_KERNELS
KernelSet avx512_kernels(bool vnni);  // avx512_ap_gemv.cpp, compiled with -mavx512vbmi and friends
#endif

bool cpu_has_avx2_fma() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

bool cpu_has_avx_vnni() {
#if defined(ANYPREC_HAVE_AVX2_KERNELS) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    return cpu_has_avx2_fma() && __builtin_cpu_supports("avxvnni");
#else
    return false;
#endif
}

bool cpu_has_avx512_vbmi() {
#if defined(ANYPREC_HAVE_AVX512_KERNELS) && (defined(__x86_64__) || defined(__i386__))
    // The set also runs the AVX2 kernels for what it does not replace.
    __builtin_cpu_init();
    return cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vbmi");
#else
    return false;
#endif
}

bool cpu_has_avx512_vnni() {
#if defined(ANYPREC_HAVE_AVX512_KERNELS) && (defined(__x86_64__) || defined(__i386__))
    return cpu_has_avx512_vbmi() && __builtin_cpu_supports("avx512vnni");
#else
    return false;
#endif
}

KernelSet select_avx512_kernels(bool allow_vnni) {
#ifdef ANYPREC_HAVE_AVX512_KERNELS
    if (cpu_has_avx512_vbmi()) {
        KernelSet k = avx512_kernels(allow_vnni && cpu_has_avx512_vnni());
        k.sum_f32 = sum_f32_avx2;
        return k;
    }
#endif
    throw std::runtime_error("AVX-512 VBMI kernels requested but this CPU or build lacks them");
}

static KernelSet scalar_kernels() {
    KernelSet k;
    k.name = "scalar";
    k.sum_f32 = sum_f32_scalar;
    k.gemm_f32 = gemm_f32_scalar;
    k.gemm_h16 = gemm_h16_scalar;
    k.gemm_ap = gemm_ap_scalar;
    k.dequant_ap = dequant_ap_scalar;
    k.attend_f16 = attend_f16_scalar;
    k.attend_q8 = attend_q8_scalar;
    k.f32_to_f16 = f32_to_f16_scalar;
    k.f32_to_q8 = f32_to_q8_scalar;
    k.silu_mul = silu_mul_scalar;
    return k;
}

KernelSet select_kernels(KernelChoice c) {
#ifdef ANYPREC_HAVE_AVX2_KERNELS
#ifdef ANYPREC_HAVE_AVX512_KERNELS
    // Auto takes the widest set the CPU runs; an explicit choice keeps that set (for comparisons).
    if (c == KernelChoice::Auto && cpu_has_avx512_vbmi()) return select_avx512_kernels();
#endif
    const bool vnni = c == KernelChoice::AvxVnni || (c == KernelChoice::Auto && cpu_has_avx_vnni());
    if (c == KernelChoice::AvxVnni && !cpu_has_avx_vnni())
        throw std::runtime_error("AVX-VNNI kernels requested but this CPU or build lacks AVX2+FMA+AVX-VNNI");
    if (c != KernelChoice::Scalar && cpu_has_avx2_fma()) {
        KernelSet k = avx2_kernels(vnni);
        k.sum_f32 = sum_f32_avx2;
        return k;
    }
#endif
    if (c == KernelChoice::Avx2) throw std::runtime_error("AVX2 kernels requested but this CPU or build lacks AVX2+FMA");
    if (c == KernelChoice::AvxVnni) throw std::runtime_error("AVX-VNNI kernels requested but this build lacks them");
    return scalar_kernels();
}

}  // namespace ap::kern
