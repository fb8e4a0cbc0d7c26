// Any-precision GEMV and small-batch kernels (ANYPREC.md §4) and their launcher.
//
// Work split: a block takes one K slice (kApSliceWords plane words = 1024
// columns) of a chunk of rows. Each lane owns one word column of the slice:
// it keeps that word's 32 activations in registers (GEMV) or reads them from
// a shared tile (batch), and for every row of the chunk loads the row's B
// plane words (one coalesced 128-byte line per plane and warp), transposes
// them into 32 indices (ap_bits.h), looks them up in the row's table in
// shared memory and accumulates in fp32; a warp shuffle sums the 32 lanes.
// Slices of one chunk meet in a workspace; the block that finishes a chunk
// last adds them up in slice order (deterministic) and writes Y.
//
// Why split K instead of one warp per whole row (the reference design): with
// x held in registers across a chunk's rows, the only shared-memory/L1 traffic
// per weight is its 4-byte table entry. A warp that walks a whole row must
// re-read x from L1 for every row, another 4 bytes per weight through the
// same 128 bytes/clock an SM has for table lookups.
#include "ap_bits.h"
#include "ap_launch.h"
#include "cuda_check.h"
#include "cuda_kernels.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace ap::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kSliceCols = kApSliceWords * 32;
constexpr int kXStride = 33;  // floats per lane row of the x tile: lane l reads bank (l + k) % 32

// Rows per warp. A 4-bit pair table is 2 KiB per row, so those blocks take half
// as many rows to stay within 64 KiB of shared memory.
template <int B, bool Pairs> __host__ __device__ constexpr int rows_per_warp() { return Pairs && B == 4 ? 4 : 8; }
template <int B, bool Pairs> __host__ __device__ constexpr int rows_per_block() { return kWarps * rows_per_warp<B, Pairs>(); }
static_assert(kWarps * 4 >= kApMinRowsPerBlock, "counters are sized for the smallest chunk");

// Rows whose plane words a warp loads before computing any of them: B * G <= 32
// words in flight per lane hide memory latency without spilling registers.
template <int B> __host__ __device__ constexpr int row_group() { return B <= 4 ? 8 : 4; }

template <int B, bool Pairs> __host__ __device__ constexpr size_t table_bytes() {
    const size_t rb = rows_per_block<B, Pairs>();
    const size_t fp32 = rb * (size_t(1) << B) * sizeof(float);
    return Pairs ? rb * ap_pair_table_size(B) * sizeof(ApPair) + fp32 : fp32;
}
template <int NT> constexpr size_t xtile_bytes() { return size_t(NT) * 32 * kXStride * sizeof(float); }
template <int B, bool Pairs> constexpr size_t gemv_smem() { return table_bytes<B, Pairs>(); }
template <int B, int NT> constexpr size_t batch_smem() { return table_bytes<B, false>() + xtile_bytes<NT>(); }

// Everything one launch needs, at one width.
struct ApArgs {
    const uint32_t* planes;  // [parent][rows][words]; planes 0..B-1 are read
    const int8_t* codes;     // [rows][2^B]
    const float* affine;     // [rows][2] = {scale, offset}
    int rows, cols, words, slices;
    const float* x;  // [n][ldx]
    int ldx, n;
    float* y;  // [n][ldy]
    int ldy;
    float* partial;     // [slices][rows][n]
    unsigned* counters; // [chunks], zero between launches
};

__device__ __forceinline__ float warp_sum(float v) {
    AP_UNROLL
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// The fp32 tables of rows row0 .. row0 + RB - 1 (zeros past the last row),
// four entries per thread and step: one 32-bit load of codes, one 128-bit store.
template <int B, int RB>
__device__ void load_tables(const ApArgs& a, int row0, float* tab) {
    static_assert(B >= 2, "rows of at least four entries");
    constexpr int E = 1 << B;
    const uint32_t* codes4 = reinterpret_cast<const uint32_t*>(a.codes + size_t(row0) * E);  // 4-byte aligned
    for (int q = threadIdx.x; q < RB * E / 4; q += kThreads) {
        const int r = row0 + 4 * q / E;
        float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
        if (r < a.rows) {
            const uint32_t c = __ldg(codes4 + q);
            const float2 so = __ldg(reinterpret_cast<const float2*>(a.affine) + r);  // {scale, offset}
            v = make_float4(ap_table_value(ap_code_from_word(c, 0), so.x, so.y),
                            ap_table_value(ap_code_from_word(c, 1), so.x, so.y),
                            ap_table_value(ap_code_from_word(c, 2), so.x, so.y),
                            ap_table_value(ap_code_from_word(c, 3), so.x, so.y));
        }
        reinterpret_cast<float4*>(tab)[q] = v;
    }
}

// A streaming load (evict first): weights are read once per product and
// should not push x or the tables out of L2. Not volatile, so it schedules freely.
__device__ __forceinline__ uint32_t load_stream(const uint32_t* p) {
    uint32_t v;
    asm("ld.global.cs.u32 %0, [%1];" : "=r"(v) : "l"(p));
    return v;
}

// The plane words of rows r0 .. r0 + G - 1 at word column w, zero for rows
// past the end and lanes past the last word. Those still load, from a clamped
// (valid) address: no branches, and the loads can all be in flight at once.
template <int B, int G>
__device__ __forceinline__ void load_planes(const ApArgs& a, int r0, int w, bool active, uint32_t (&pl)[G][B]) {
    const size_t plane = size_t(a.rows) * a.words;
    const uint32_t* col = a.planes + min(w, a.words - 1);
    AP_UNROLL
    for (int g = 0; g < G; ++g) {
        const int r = r0 + g;
        const bool ok = active && r < a.rows;
        const uint32_t* p0 = col + size_t(min(r, a.rows - 1)) * a.words;
        AP_UNROLL
        for (int p = 0; p < B; ++p) {
            const uint32_t v = load_stream(p0 + p * plane);
            pl[g][p] = ok ? v : 0u;
        }
    }
}

// The 32 activations of word column w, zero past `cols` (never read there).
__device__ __forceinline__ void load_x_regs(const float* x, int cols, int w, bool active, float (&xr)[32]) {
    const int k0 = w * 32;
    if (active && k0 + 32 <= cols && (reinterpret_cast<uintptr_t>(x + k0) & 15u) == 0) {
        const float4* p = reinterpret_cast<const float4*>(x + k0);
        AP_UNROLL
        for (int i = 0; i < 8; ++i) {
            const float4 v = __ldg(p + i);
            xr[4 * i] = v.x;
            xr[4 * i + 1] = v.y;
            xr[4 * i + 2] = v.z;
            xr[4 * i + 3] = v.w;
        }
    } else {
        AP_UNROLL
        for (int k = 0; k < 32; ++k) xr[k] = active && k0 + k < cols ? __ldg(x + k0 + k) : 0.f;
    }
}

// Called by every thread of a block after it stored its slice's partial sums
// for rows row0 .. row0 + rb - 1: the last block of the chunk adds the slices
// in order, writes Y and re-arms the chunk's counter for the next launch.
__device__ void combine_slices(const ApArgs& a, int chunk, int row0, int rb) {
    __shared__ bool last;
    __threadfence();  // this thread's partials are visible device-wide before the count
    __syncthreads();
    if (threadIdx.x == 0) last = atomicAdd(a.counters + chunk, 1u) == unsigned(a.slices - 1);
    __syncthreads();
    if (!last) return;
    __threadfence();
    const int nrows = min(rb, a.rows - row0);
    for (int i = threadIdx.x; i < nrows * a.n; i += kThreads) {
        const int r = row0 + i / a.n, t = i % a.n;
        float s = 0.f;
        for (int sl = 0; sl < a.slices; ++sl) s += __ldcg(a.partial + (size_t(sl) * a.rows + r) * a.n + t);
        a.y[size_t(t) * a.ldy + r] = s;
    }
    if (threadIdx.x == 0) a.counters[chunk] = 0;
}

// One token. Grid: chunks * slices blocks, slice fastest (so the blocks that
// share a chunk's tables run together and hit L2).
template <int B, bool Pairs>
__global__ void __launch_bounds__(kThreads) ap_gemv_kernel(ApArgs a) {
    extern __shared__ __align__(16) unsigned char smem[];
    constexpr int RPW = rows_per_warp<B, Pairs>(), RB = kWarps * RPW;
    constexpr int G = row_group<B>() < RPW ? row_group<B>() : RPW;
    constexpr int PE = ap_pair_table_size(B);
    const int slice = blockIdx.x % a.slices, chunk = blockIdx.x / a.slices;
    const int row0 = chunk * RB;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int w = slice * kApSliceWords + lane;
    const bool active = w < a.words;

    ApPair* pairs = reinterpret_cast<ApPair*>(smem);
    float* tab = reinterpret_cast<float*>(Pairs ? smem + size_t(RB) * PE * sizeof(ApPair) : smem);
    load_tables<B, RB>(a, row0, tab);
    float xr[32];
    load_x_regs(a.x, a.cols, w, active, xr);
    __syncthreads();
    if constexpr (Pairs) {
        for (int e = threadIdx.x; e < RB * PE; e += kThreads) pairs[e] = ap_pair_entry(tab + ((e / PE) << B), B, e % PE);
        __syncthreads();
    }

    float mine = 0.f;  // lane g ends up with row g's sum over this slice
    const int wrow0 = row0 + warp * RPW;
    AP_UNROLL
    for (int g0 = 0; g0 < RPW; g0 += G) {
        uint32_t pl[G][B];
        load_planes<B, G>(a, wrow0 + g0, w, active, pl);
        AP_UNROLL
        for (int g = 0; g < G; ++g) {
            const int slot = warp * RPW + g0 + g;
            float s = 0.f;
            if (active && row0 + slot < a.rows) {
                const ApIndexWord<B> iw(pl[g]);
                if constexpr (Pairs) s = ap_word_dot_pairs<B>(iw, pairs + slot * PE, xr);
                else s = ap_word_dot<B>(iw, tab + (slot << B), xr);
            }
            s = warp_sum(s);
            if (lane == g0 + g) mine = s;
        }
    }
    const int r = wrow0 + lane;
    const bool writes = lane < RPW && r < a.rows;
    if (a.slices == 1) {
        if (writes) a.y[r] = mine;
        return;
    }
    if (writes) a.partial[size_t(slice) * a.rows + r] = mine;
    combine_slices(a, chunk, row0, RB);
}

// 2..NT tokens. The slice's activations of every token sit in a shared tile
// (zeros past cols and past n) read conflict-free; each warp takes G rows at a
// time so one activation read feeds G multiply-adds.
template <int B, int NT>
__global__ void __launch_bounds__(kThreads) ap_batch_kernel(ApArgs a) {
    extern __shared__ __align__(16) unsigned char smem[];
    constexpr int RPW = rows_per_warp<B, false>(), RB = kWarps * RPW, G = 4;
    static_assert(RPW % G == 0, "whole row groups");
    const int slice = blockIdx.x % a.slices, chunk = blockIdx.x / a.slices;
    const int row0 = chunk * RB;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int w = slice * kApSliceWords + lane;
    const bool active = w < a.words;

    float* tab = reinterpret_cast<float*>(smem);
    float* xt = reinterpret_cast<float*>(smem + table_bytes<B, false>());  // [t][lane][kXStride]
    load_tables<B, RB>(a, row0, tab);
    for (int i = threadIdx.x; i < NT * kSliceCols; i += kThreads) {
        const int t = i / kSliceCols, c = i % kSliceCols, col = slice * kSliceCols + c;
        xt[(t * 32 + c / 32) * kXStride + c % 32] = t < a.n && col < a.cols ? __ldg(a.x + size_t(t) * a.ldx + col) : 0.f;
    }
    __syncthreads();
    const float* xl = xt + lane * kXStride;

    const int wrow0 = row0 + warp * RPW;
#pragma unroll 1
    for (int g0 = 0; g0 < RPW; g0 += G) {
        uint32_t pl[G][B];
        load_planes<B, G>(a, wrow0 + g0, w, active, pl);
        float acc[G][NT];
        AP_UNROLL
        for (int g = 0; g < G; ++g)
            AP_UNROLL
            for (int t = 0; t < NT; ++t) acc[g][t] = 0.f;
        if (active) {
            ApIndexWord<B> iw[G] = {ApIndexWord<B>(pl[0]), ApIndexWord<B>(pl[1]), ApIndexWord<B>(pl[2]),
                                    ApIndexWord<B>(pl[3])};
            const float* rt = tab + ((warp * RPW + g0) << B);
            AP_UNROLL
            for (int k = 0; k < 32; ++k) {
                float v[G];
                AP_UNROLL
                for (int g = 0; g < G; ++g) v[g] = rt[(g << B) + iw[g].index(k)];
                AP_UNROLL
                for (int t = 0; t < NT; ++t) {
                    const float xv = xl[t * 32 * kXStride + k];
                    AP_UNROLL
                    for (int g = 0; g < G; ++g) acc[g][t] += v[g] * xv;
                }
            }
        }
        AP_UNROLL
        for (int g = 0; g < G; ++g) {
            float keep = 0.f;  // lane t keeps token t's sum
            AP_UNROLL
            for (int t = 0; t < NT; ++t) {
                if (t >= a.n) break;
                const float s = warp_sum(acc[g][t]);
                if (lane == t) keep = s;
            }
            const int r = wrow0 + g0 + g;
            if (lane < a.n && r < a.rows) {
                if (a.slices == 1) a.y[size_t(lane) * a.ldy + r] = keep;
                else a.partial[(size_t(slice) * a.rows + r) * a.n + lane] = keep;
            }
        }
    }
    if (a.slices > 1) combine_slices(a, chunk, row0, RB);
}

static_assert(gemv_smem<8, false>() <= 64 * 1024 && gemv_smem<4, true>() <= 80 * 1024, "shared memory per block");
static_assert(batch_smem<8, 8>() <= 99 * 1024, "fits the smallest opt-in limit of sm_80+ (99 KiB on sm_86/89)");

template <class K>
void allow_smem(K kernel, size_t bytes, int optin) {
    if (bytes > 48 * 1024 && bytes <= size_t(optin))
        AP_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
}

template <int B>
void prepare_width(int optin) {
    allow_smem(ap_gemv_kernel<B, false>, gemv_smem<B, false>(), optin);
    if constexpr (B <= 4) allow_smem(ap_gemv_kernel<B, true>, gemv_smem<B, true>(), optin);
    allow_smem(ap_batch_kernel<B, 4>, batch_smem<B, 4>(), optin);
    allow_smem(ap_batch_kernel<B, 8>, batch_smem<B, 8>(), optin);
}

template <class K>
void launch(K kernel, int rows_per_block, size_t smem, int optin, const ApArgs& a, cudaStream_t s) {
    if (smem > 48 * 1024 && smem > size_t(optin))
        throw std::runtime_error("CUDA: kernel needs " + std::to_string(smem) +
                                 " bytes of shared memory per block, more than this device allows");
    const long long blocks = (long long)((a.rows + rows_per_block - 1) / rows_per_block) * a.slices;
    if (blocks > INT_MAX) throw std::runtime_error("CUDA: matrix too large for one launch");
    kernel<<<unsigned(blocks), kThreads, smem, s>>>(a);
    AP_CUDA_CHECK(cudaGetLastError());
}

template <int B>
void launch_width(const ApArgs& a, Lookup lookup, int optin, cudaStream_t s) {
    if (a.n == 1) {
        if constexpr (B <= 4) {
            if (lookup == Lookup::Pairs) {
                launch(ap_gemv_kernel<B, true>, rows_per_block<B, true>(), gemv_smem<B, true>(), optin, a, s);
                return;
            }
        }
        launch(ap_gemv_kernel<B, false>, rows_per_block<B, false>(), gemv_smem<B, false>(), optin, a, s);
    } else if (a.n <= 4) {
        launch(ap_batch_kernel<B, 4>, rows_per_block<B, false>(), batch_smem<B, 4>(), optin, a, s);
    } else {
        launch(ap_batch_kernel<B, 8>, rows_per_block<B, false>(), batch_smem<B, 8>(), optin, a, s);
    }
}

}  // namespace

int prepare_ap_kernels() {
    int dev = 0, optin = 0;
    AP_CUDA_CHECK(cudaGetDevice(&dev));
    AP_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    prepare_width<2>(optin);
    prepare_width<3>(optin);
    prepare_width<4>(optin);
    prepare_width<5>(optin);
    prepare_width<6>(optin);
    prepare_width<7>(optin);
    prepare_width<8>(optin);
    return optin;
}

void gemv_ap(const DeviceApMatrix& w, int bits, const float* x, int ldx, int n, float* y, int ldy, Lookup lookup,
             void* stream) {
    if (bits < w.seed_bits() || bits > w.parent_bits())
        throw std::invalid_argument("gemv_ap: width " + std::to_string(bits) + " is not stored (" +
                                    std::to_string(w.seed_bits()) + ".." + std::to_string(w.parent_bits()) + ")");
    if (n < 1 || (n > 1 && ldx < w.cols()) || (n > 1 && ldy < w.rows()) || !x || !y)
        throw std::invalid_argument("gemv_ap: bad token count, leading dimension or pointer");
    const kern::ApMatrix v = w.device_view();
    const cudaStream_t s = static_cast<cudaStream_t>(stream);
    for (int t0 = 0; t0 < n; t0 += kApMaxTokens) {
        ApArgs a;
        a.planes = v.planes;
        a.codes = v.lut[bits];
        a.affine = v.lut_affine[bits];
        a.rows = v.rows;
        a.cols = v.cols;
        a.words = v.words;
        a.slices = ap_slices(v.words);
        a.x = x + size_t(t0) * ldx;
        a.ldx = ldx;
        a.n = std::min(kApMaxTokens, n - t0);
        a.y = y + size_t(t0) * ldy;
        a.ldy = ldy;
        a.partial = w.workspace();
        a.counters = w.counters();
        switch (bits) {
            case 2: launch_width<2>(a, lookup, w.smem_optin(), s); break;
            case 3: launch_width<3>(a, lookup, w.smem_optin(), s); break;
            case 4: launch_width<4>(a, lookup, w.smem_optin(), s); break;
            case 5: launch_width<5>(a, lookup, w.smem_optin(), s); break;
            case 6: launch_width<6>(a, lookup, w.smem_optin(), s); break;
            case 7: launch_width<7>(a, lookup, w.smem_optin(), s); break;
            case 8: launch_width<8>(a, lookup, w.smem_optin(), s); break;
            default: throw std::invalid_argument("gemv_ap: widths 2..8");
        }
    }
}

}  // namespace ap::cuda
