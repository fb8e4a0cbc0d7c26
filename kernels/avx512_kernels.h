// The AVX-512 (F+BW+VL+VBMI) kernel set: the AVX2 set with the few-token
// any-precision product replaced by a vpermb/vpermi2b table-lookup kernel.
// Declared apart from kernels.h so that tests and tools can ask for this set
// explicitly; select_kernels(Auto) already prefers it where the CPU allows.
#pragma once
#include "kernels.h"

namespace ap::kern {

// True where the CPU (and OS) support AVX-512 F, BW, VL and VBMI and this
// build contains the kernels.
bool cpu_has_avx512_vbmi();
// True where the CPU also has AVX-512 VNNI (vpdpbusd).
bool cpu_has_avx512_vnni();
// The "avx512vbmi" set; throws std::runtime_error where cpu_has_avx512_vbmi()
// is false. allow_vnni = false keeps maddubs+madd even where VNNI exists
// (same results; lets tests cover both instruction flavours).
KernelSet select_avx512_kernels(bool allow_vnni = true);

}  // namespace ap::kern
