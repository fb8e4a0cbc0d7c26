// The transformer forward pass over a KV cache (Llama family: RMSNorm,
// rotate-half RoPE, grouped-query attention, SwiGLU; plus the per-architecture
// features of ModelConfig: q/k/v biases, q/k norms, sliding windows, Gemma's
// scaled embeddings, sandwich norms, GeGLU and soft-capping), batched over prompt
// tokens so every weight is read once per chunk, not once per token.
#include "session.h"

#include "error.h"
#include "forward_ops.h"
#include "input_limits.h"
#include "page_buffer.h"
#include "thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <unistd.h>

namespace ap {

// Each quantized matrix with what its code copy takes in kernel set k's
// widest layout (8 bits: codes in either form), in model order (layers, then the head).
static std::vector<std::pair<const ApWeight*, uint64_t>> copy_sizes(const Model& m, const kern::KernelSet& k) {
    std::vector<std::pair<const ApWeight*, uint64_t>> out;
    if (!k.expand_bytes) return out;
    auto add = [&](const Linear& l) {
        if (l.quantized()) out.emplace_back(l.ap.get(), k.expand_bytes(l.rows, l.cols, kern::kMaxBits, k.expand_layout) + 64);
    };
    for (const auto& L : m.layers)
        for (const Linear* l : L.projections()) add(*l);
    add(m.output());
    return out;
}

// The matrices kCodeCopyAuto copies: the largest first, each that still
// fits the budget (all of them when their copies fit). Every byte of copy
// serves a token alike, so what counts is how much of the model the budget
// covers: an 8B model's 7.5 GB of copies against a 24 GB desktop's 6 GB
// budget cover more than four fifths of its weights instead of none.
static std::unordered_set<const ApWeight*> copies_within(std::vector<std::pair<const ApWeight*, uint64_t>> sizes,
                                                         uint64_t budget) {
    std::stable_sort(sizes.begin(), sizes.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    std::unordered_set<const ApWeight*> out;
    uint64_t used = 0;
    for (const auto& [w, bytes] : sizes)
        if (used + bytes <= budget) out.insert(w), used += bytes;
    return out;
}

struct Session::Impl {
    Impl(int threads, kern::KernelChoice kc) : pool(threads), k(kern::select_kernels(kc)) {}
    ThreadPool pool;
    kern::KernelSet k;
    LinearInputHook hook;
    int B = 64;
    bool exact_prompts = false;
    int code_copy_from = 0;
    // SessionOptions::code_copy_from: per matrix, its codes at one width.
    struct CodeCopy {
        int bits = 0, layout = 0;
        PageBuffer storage;       // page-aligned (whole-register loads), zero until expanded
        int8_t* codes = nullptr;  // storage.data()
        size_t bytes = 0;
    };
    std::unordered_map<const ApWeight*, CodeCopy> copies;
    std::unordered_set<const ApWeight*> copyable;  // the matrices that may keep one (copies_within under Auto)
    uint64_t copyable_bytes = 0;                   // their copies at the widest layout
    double copyable_share = 0;                     // their share of the quantized weights
    // kCodeCopyAuto also times, once per width, one-token products of every
    // quantized matrix (the head too) from the planes and from the copies, and keeps
    // copies at that width only where they won clearly: which form is faster
    // depends on the CPU and on whether the weights fit its caches (the AVX2
    // set's 4-bit copy won on Zen 4 and on SmolLM2 but lost 0.7x on a 1B
    // model on an Intel Xeon; its 5-bit copy lost on SmolLM2 there). All of
    // them, because one matrix alone sits in the cache after the first pass.
    bool copy_probe = false;
    std::vector<const ApWeight*> probe_ws;
    int8_t copy_wins[kern::kMaxBits + 1] = {-1, -1, -1, -1, -1, -1, -1, -1, -1};  // -1 not timed, 0 planes, 1 copy
    CopyTiming copy_timing[kern::kMaxBits + 1];
    int copy_layout[kern::kMaxBits + 1] = {};  // the form copies take at each width (0: the set's first)
    int layout_at(int bits) const { return copy_layout[bits] ? copy_layout[bits] : k.expand_layout; }

    // Whether products of W at `bits` read a copy (not yet timed counts as yes).
    bool copies_at(const ApWeight* W, int bits) const {
        return k.expand_ap && code_copy_from > 0 && bits >= code_copy_from && !(copy_probe && copy_wins[bits] == 0) &&
               copyable.count(W) != 0;
    }
    bool profiling = false;
    ForwardProfile prof;
    std::chrono::steady_clock::time_point mark;
    // Adds the time since the last mark to `slot` (only when profiling).
    void lap(double ForwardProfile::*slot) {
        if (!profiling) return;
        auto now = std::chrono::steady_clock::now();
        prof.*slot += std::chrono::duration<double>(now - mark).count();
        mark = now;
    }
    // The KV cache. fp16 by default, like llama.cpp's: half the bytes of
    // fp32 streamed per token at long contexts, and no measurable change in
    // perplexity; int8 rows with a scale each (SessionOptions::kv_cache)
    // halve that again. Each KV head's positions are contiguous, so an
    // attention part streams one block instead of every third 128-byte piece
    // of [position][kv_dim] rows.
    KvCache kv = KvCache::F16;
    int n_ctx = 0;
    std::vector<uint16_t> kc, vc;  // fp16: [layer][kv head][n_ctx][head_dim]
    std::vector<int8_t> kq, vq;    // int8: the same layout
    std::vector<float> ks, vs;     // int8 row scales: [layer][kv head][n_ctx]

    // The one place the layout is spelled out: the row index of (layer, KV
    // head, position); its values start at row * head_dim, its scale at row.
    size_t kv_row(const ModelConfig& c, int l, int h, int pos) const {
        return (size_t(l) * c.n_head_kv + h) * n_ctx + size_t(pos);
    }

    // Stores token t's K and V rows (kk, vv) at position pos of layer l.
    void store_kv(const ModelConfig& c, int l, int t, int pos) {
        const int KVH = c.n_head_kv, hd = c.head_dim, KVd = KVH * hd;
        for (int h = 0; h < KVH; ++h) {
            const size_t slot = kv_row(c, l, h, pos), row = slot * hd;
            const float* kr = &kk[size_t(t) * KVd + h * hd];
            const float* vr = &vv[size_t(t) * KVd + h * hd];
            if (kv == KvCache::Q8) {
                ks[slot] = k.f32_to_q8(kr, &kq[row], size_t(hd));
                vs[slot] = k.f32_to_q8(vr, &vq[row], size_t(hd));
            } else {
                k.f32_to_f16(kr, &kc[row], size_t(hd));
                k.f32_to_f16(vr, &vc[row], size_t(hd));
            }
        }
    }
    std::vector<float> x, xn, q, kk, vv, att, tmp, gate, up, cosb, sinb, last_logits;
    std::vector<float> cosl, sinl;  // RoPE tables of sliding-window layers with their own theta (gemma3)

    // One output of a group of products over the same input.
    struct Product {
        const Linear* L;
        float* Y;
    };

    // Y_i = W_i X for every product in `ps` (all with the same input width):
    // any-precision activations are quantized once for the group and all rows
    // go through one pool dispatch, so q/k/v (and gate/up) cost one barrier.
    void matmuls(std::initializer_list<Product> ps, const float* X, int n, int bits) {
        bool all_quantized = true;
        for (const Product& p : ps) {
            if (hook) hook(*p.L, X, n);
            all_quantized = all_quantized && p.L->quantized();
        }
        const int cols = ps.begin()->L->cols;
        std::unique_ptr<kern::PreparedX> px;
        if (all_quantized && k.prepare_x && (n <= kern::kFewTokens || !exact_prompts)) px = k.prepare_x(X, cols, n, cols);
        if (!px) {
            for (const Product& p : ps) dense_or_ap(*p.L, X, n, p.Y, bits);
            return;
        }
        struct Part {
            kern::ApMatrix v;
            float* Y;
            int first;  // row offset of this matrix in the group
        };
        std::vector<Part> parts;  // any number of products (q/k/v is the largest group today)
        parts.reserve(ps.size());
        int total = 0;
        for (const Product& p : ps) {
            parts.push_back(Part{p.L->ap->view(), p.Y, total});
            attach_copy(parts.back().v, *p.L->ap, bits);
            total += p.L->rows;
        }
        px->prepare(bits);
        pool.parallel_for(total, 16, [&](int b, int e) {
            for (const Part& q : parts) {
                const int lo = std::max(b, q.first), hi = std::min(e, q.first + q.v.rows);
                if (lo < hi) k.gemm_ap_prepared(q.v, bits, *px, q.Y, q.v.rows, lo - q.first, hi - q.first);
            }
        });
    }
    void matmul(const Linear& L, const float* X, int n, float* Y, int bits) { matmuls({{&L, Y}}, X, n, bits); }

    // Points v at W's code copy for `bits` when the options ask for one,
    // expanding it first (all threads) if it holds another width.
    void attach_copy(kern::ApMatrix& v, const ApWeight& W, int bits) {
        if (!copies_at(&W, bits)) return;
        if (copy_probe && copy_wins[bits] < 0 && !time_copy(bits)) return;
        use_copy(v, W, bits);
    }
    void use_copy(kern::ApMatrix& v, const ApWeight& W, int bits) {
        CodeCopy& c = copies[&W];
        const int layout = layout_at(bits);
        if (c.bits != bits || c.layout != layout) {
            c.bytes = k.expand_bytes(W.rows, W.cols, bits, layout);
            // A layout of the same size (6, 7 and 8 bits in the AVX2 set) overwrites the
            // old copy in place: no fresh pages to fault in and zero (1B model,
            // AVX2, 2 threads, 6 <-> 8: the first token after a switch took 290-600
            // ms, now 146-262), and those widths run on the same pages. What
            // expand leaves unwritten (an odd last row's partner, slack) meets
            // only zero activations or discarded lanes.
            if (c.storage.size() != c.bytes + 64) {
                c.storage = PageBuffer();  // the old one goes first
                c.storage = PageBuffer(c.bytes + 64);  // slack past the last row, as before
            }
            c.codes = c.storage.data();
            pool.parallel_for(W.rows, 16, [&](int r0, int r1) { k.expand_ap(v, bits, layout, r0, r1, c.codes); });
            c.bits = bits;
            c.layout = layout;
        }
        v.codes = c.codes;
        v.codes_bits = bits;
        v.codes_layout = layout;
    }

    // Times one-token passes over probe_ws at `bits`, planes against copies
    // (best of 4, all threads) in each form the set has at this width,
    // records the verdict (CopyTiming::copies_win) and the faster form, and
    // returns the verdict.
    bool time_copy(int bits) {
        std::vector<const ApWeight*> ws;  // the matrices that hold this width (a head may start higher)
        for (const ApWeight* W : probe_ws)
            if (!W->lut[bits].empty()) ws.push_back(W);
        if (ws.empty()) {  // nothing to time: keep the set's default
            copy_wins[bits] = 1;
            return true;
        }
        size_t max_cols = 0, max_rows = 0;
        for (const ApWeight* W : ws) max_cols = std::max(max_cols, size_t(W->cols)), max_rows = std::max(max_rows, size_t(W->rows));
        std::vector<float> x(max_cols), y(max_rows);
        for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * float(i));
        std::vector<std::unique_ptr<kern::PreparedX>> px;
        std::vector<kern::ApMatrix> planes, copied;
        for (const ApWeight* W : ws) {
            px.push_back(k.prepare_x(x.data(), W->cols, 1, W->cols));
            if (!px.back()) {  // nothing to time: keep the set's default
                copy_wins[bits] = 1;
                return true;
            }
            planes.push_back(W->view());
        }
        // All matrices in one parallel job (rows numbered across them), so
        // a pass over many small matrices is not mostly thread hand-offs.
        std::vector<int> first(ws.size() + 1, 0);
        for (size_t i = 0; i < ws.size(); ++i) first[i + 1] = first[i] + ws[i]->rows;
        auto pass = [&](const std::vector<kern::ApMatrix>& vs) {
            const auto t0 = std::chrono::steady_clock::now();
            pool.parallel_for(first.back(), 16, [&](int b, int e) {
                for (size_t i = 0; i < vs.size(); ++i) {
                    const int lo = std::max(b, first[i]), hi = std::min(e, first[i + 1]);
                    if (lo < hi) k.gemm_ap_prepared(vs[i], bits, *px[i], y.data(), vs[i].rows, lo - first[i], hi - first[i]);
                }
            });
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        };
        // Copies in one form (expanded again, in place where the size allows).
        auto attach = [&](int layout) {
            copy_layout[bits] = layout;
            copied = planes;
            for (size_t i = 0; i < copied.size(); ++i) use_copy(copied[i], *ws[i], bits);
        };
        // Blocks of passes that alternate with the planes, so a busy moment
        // of the machine hits both; each block's first pass only warms up (a
        // model that fits the caches keeps only one form there while it
        // decodes, so each form is timed with its own bytes cached).
        double from_planes = 1e30, from_copies = 1e30, from_alt = 0;
        auto block = [&](const std::vector<kern::ApMatrix>& vs, double& best) {
            pass(vs);
            for (int rep = 0; rep < 2; ++rep) best = std::min(best, pass(vs));
        };
        attach(k.expand_layout);
        for (int round = 0; round < 2; ++round) {
            block(planes, from_planes);
            block(copied, from_copies);
        }
        // The second form where it differs at this width (plain AVX2 at 6
        // bits: codes against indices; which wins depends on the CPU).
        const int alt = k.expand_layout_alt;
        if (alt && bits > kern::copy_indices_upto(k, alt) && bits <= k.copy_indices_upto) {
            from_alt = 1e30;
            attach(alt);
            for (int round = 0; round < 2; ++round) {
                block(copied, from_alt);
                block(planes, from_planes);
            }
        }
        copy_timing[bits] = CopyTiming{true, from_planes, from_copies, from_alt};
        // The faster form serves; copies of the other are expanded again on first use.
        copy_layout[bits] = copy_timing[bits].alt_wins() ? alt : k.expand_layout;
        const bool wins = copy_timing[bits].copies_win();
        if (!wins)
            for (const ApWeight* W : ws) copies.erase(W);
        copy_wins[bits] = wins ? 1 : 0;
        return wins;
    }

    // Attention of nb tokens at positions pos0.. over one layer's cache. Work
    // is split into (token, KV head, range of positions) parts so that the
    // heads sharing a KV head read and convert its rows once, and a long
    // context spreads over every thread even in decode (three KV heads on
    // two threads would leave one idle a third of the time). Ranges are
    // fixed runs of attn_chunk positions from each token's first visible
    // position, merged in order: a token's result does not depend on the
    // batch it came in or on the thread count.
    int attn_chunk = 256;  // at most 16 ranges per token (Session sets it from n_ctx)
    std::vector<float> att_m, att_l, att_acc;
    void attention(const ModelConfig& c, int layer, int pos0, int nb, bool slides) {
        const int H = c.n_head, KVH = c.n_head_kv, hd = c.head_dim, G = H / KVH;
        const int Qd = H * hd;
        const float scale = c.attn_scale > 0 ? c.attn_scale : 1.f / std::sqrt(float(hd));
        auto first_pos = [&](int t) { return slides ? std::max(0, pos0 + t + 1 - c.sliding_window) : 0; };
        // Part offsets per token (every KV head of a token has the same number of parts).
        std::vector<int> part0(size_t(nb) + 1, 0);
        for (int t = 0; t < nb; ++t) {
            const int n_pos = pos0 + t + 1 - first_pos(t);
            part0[size_t(t) + 1] = part0[size_t(t)] + (n_pos + attn_chunk - 1) / attn_chunk;
        }
        const size_t parts = size_t(part0[size_t(nb)]) * KVH;  // ordered [token][kv head][range]
        if (att_m.size() < parts * G) {
            att_m.resize(parts * G);
            att_l.resize(parts * G);
            att_acc.resize(parts * G * hd);
        }
        // One part per token (every decode step up to attn_chunk positions):
        // each task merges its own result, and the second pass is skipped.
        const bool whole = part0[size_t(nb)] == nb;
        pool.parallel_for(int(parts), 1, [&](int b, int e) {
            thread_local std::vector<float> scratch;
            scratch.resize(kern::attend_scratch_floats(attn_chunk, hd));
            for (int task = b; task < e; ++task) {
                // The token whose parts hold this one: part0[t] * KVH <= task < part0[t + 1] * KVH.
                const int t = int(std::upper_bound(part0.begin(), part0.end(), task / KVH) - part0.begin()) - 1;
                const int per = part0[size_t(t) + 1] - part0[size_t(t)];
                const int within = task - part0[size_t(t)] * KVH, kvh = within / per, r = within % per;
                const int start = first_pos(t) + r * attn_chunk;
                const int n = std::min(attn_chunk, pos0 + t + 1 - start);
                const size_t pi = size_t(task) * G;
                const size_t slot = kv_row(c, layer, kvh, start), row = slot * hd;
                const float* qt = &q[size_t(t) * Qd + size_t(kvh) * G * hd];
                if (kv == KvCache::Q8)
                    k.attend_q8(qt, size_t(hd), G, &kq[row], &vq[row], &ks[slot], &vs[slot], size_t(hd), n, hd, scale,
                                c.attn_softcap, scratch.data(), &att_m[pi], &att_l[pi], &att_acc[pi * hd]);
                else
                    k.attend_f16(qt, size_t(hd), G, &kc[row], &vc[row], size_t(hd), n, hd, scale, c.attn_softcap,
                                 scratch.data(), &att_m[pi], &att_l[pi], &att_acc[pi * hd]);
                if (whole)
                    kern::attend_merge(1, G, hd, &att_m[pi], &att_l[pi], &att_acc[pi * hd],
                                       &att[size_t(t) * Qd + size_t(kvh) * G * hd], size_t(hd));
            }
        });
        if (whole) return;
        pool.parallel_for(nb * KVH, 1, [&](int b, int e) {
            for (int i = b; i < e; ++i) {
                const int t = i / KVH, kvh = i % KVH;
                const int per = part0[size_t(t) + 1] - part0[size_t(t)];
                const size_t p0 = (size_t(part0[size_t(t)]) * KVH + size_t(kvh) * per) * G;
                kern::attend_merge(per, G, hd, &att_m[p0], &att_l[p0], &att_acc[p0 * hd], &att[size_t(t) * Qd + size_t(kvh) * G * hd], size_t(hd));
            }
        });
    }

    void dense_or_ap(const Linear& L, const float* X, int n, float* Y, int bits) {
        if (L.quantized()) {
            const kern::ApMatrix v = L.ap->view();
            pool.parallel_for(L.rows, 16, [&](int r0, int r1) { k.gemm_ap(v, bits, X, L.cols, n, Y, L.rows, r0, r1); });
        } else if (L.dtype != DenseType::F32) {
            const uint16_t* W = L.dense16.data();
            const bool bf16 = L.dtype == DenseType::BF16;
            pool.parallel_for(L.rows, 16, [&](int r0, int r1) { k.gemm_h16(W, bf16, L.cols, X, L.cols, n, Y, L.rows, r0, r1); });
        } else {
            const float* W = L.dense.data();
            pool.parallel_for(L.rows, 16, [&](int r0, int r1) { k.gemm_f32(W, L.cols, X, L.cols, n, Y, L.rows, r0, r1); });
        }
    }
};

const char* kv_cache_name(KvCache k) { return k == KvCache::Q8 ? "q8" : "f16"; }

const char* stop_reason_name(StopReason r) {
    switch (r) {
    case StopReason::MaxTokens: return "max tokens";
    case StopReason::Eos: return "end of sequence";
    case StopReason::StopString: return "stop string";
    case StopReason::Cancelled: return "cancelled";
    case StopReason::ContextFull: return "context full";
    }
    return "?";
}

Session::Session(const Model& m, const SessionOptions& opt) : m_(m) {
    if (opt.threads < 0 || opt.threads > limits::kMaxThreads)
        throw Error("threads " + std::to_string(opt.threads) + " is out of range (accepted: 0.." +
                    std::to_string(limits::kMaxThreads) + ", 0 = every CPU)");
    n_ctx_ = std::max(16, std::min(opt.n_ctx, std::max(m.cfg.n_ctx_train, 16)));
    impl_ = std::make_unique<Impl>(opt.threads, opt.kernels);
    Impl& I = *impl_;
    I.B = std::max(1, opt.batch);
    I.exact_prompts = opt.exact_prompts;
    I.code_copy_from = opt.code_copy_from;
    const auto sizes = copy_sizes(m, I.k);
    if (!I.k.expand_ap) I.code_copy_from = 0;
    else if (I.code_copy_from == kCodeCopyAuto) {
        I.copyable = copies_within(sizes, opt.code_copy_budget > 0 ? opt.code_copy_budget : code_copy_budget());
        I.code_copy_from = I.copyable.empty() ? 0 : I.k.copy_pays_from;
    } else if (I.code_copy_from != 0) {
        if (I.code_copy_from == kCodeCopyAlways) I.code_copy_from = I.k.copy_pays_from;
        for (const auto& sz : sizes) I.copyable.insert(sz.first);
    }
    if (I.code_copy_from > 0) {
        uint64_t weights = 0, copied = 0;
        for (const auto& [w, bytes] : sizes) {  // model order
            weights += uint64_t(w->rows) * w->cols;
            if (!I.copyable.count(w)) continue;
            copied += uint64_t(w->rows) * w->cols;
            I.copyable_bytes += bytes;
            if (opt.code_copy_from == kCodeCopyAuto) I.probe_ws.push_back(w);  // each is timed at the width (the head too: 21% of SmolLM2)
        }
        I.copyable_share = weights > 0 ? double(copied) / double(weights) : 0.0;
        I.copy_probe = !I.probe_ws.empty() && I.k.prepare_x && I.k.gemm_ap_prepared;
    }
    I.attn_chunk = std::max(256, (n_ctx_ + 15) / 16);
    I.profiling = opt.profile;
    const ModelConfig& c = m.cfg;
    const size_t kv_dim = size_t(c.n_head_kv) * c.head_dim, kv_rows = size_t(c.n_layer) * c.n_head_kv * n_ctx_;
    I.kv = opt.kv_cache;
    I.n_ctx = n_ctx_;
    if (I.kv == KvCache::Q8) {
        I.kq.assign(kv_rows * c.head_dim, 0);
        I.vq.assign(kv_rows * c.head_dim, 0);
        I.ks.assign(kv_rows, 0.f);
        I.vs.assign(kv_rows, 0.f);
    } else {
        I.kc.assign(kv_rows * c.head_dim, 0);
        I.vc.assign(kv_rows * c.head_dim, 0);
    }
    const size_t B = I.B, E = c.n_embd, Q = size_t(c.n_head) * c.head_dim;
    I.x.resize(B * E);
    I.xn.resize(B * std::max<size_t>(E, Q));
    I.q.resize(B * Q);
    I.kk.resize(B * kv_dim);
    I.vv.resize(B * kv_dim);
    I.att.resize(B * Q);
    I.tmp.resize(B * E);
    I.gate.resize(B * c.n_ff);
    I.up.resize(B * c.n_ff);
    I.cosb.resize(B * c.head_dim / 2);
    I.sinb.resize(B * c.head_dim / 2);
    if (!m.rope_inv_freq_local.empty()) {
        I.cosl.resize(B * c.head_dim / 2);
        I.sinl.resize(B * c.head_dim / 2);
    }
}

Session::~Session() = default;

int Session::threads() const { return impl_->pool.size(); }
const kern::KernelSet& Session::kernels() const { return impl_->k; }
void Session::set_linear_hook(LinearInputHook h) { impl_->hook = std::move(h); }

void Session::matmul(const Linear& L, const float* X, int n, float* Y, int bits) {
    impl_->matmul(L, X, n, Y, m_.resolve_bits(bits));
}

const ForwardProfile& Session::profile() const { return impl_->prof; }
void Session::clear_profile() { impl_->prof = ForwardProfile{}; }

void Session::reset() {
    n_past_ = 0;
    cached_.clear();
    cache_bits_ = -1;
}

void Session::truncate(int n) {
    if (n < 0 || n > n_past_) throw Error("cannot keep " + std::to_string(n) + " of " + std::to_string(n_past_) + " cached tokens");
    n_past_ = n;
    cached_.resize(size_t(n));
}

int Session::keep_prefix(const std::vector<int32_t>& prompt, int bits) {
    size_t keep = 0;
    if (cache_bits_ == m_.resolve_bits(bits))
        while (keep < cached_.size() && keep < prompt.size() && cached_[keep] == prompt[keep]) ++keep;
    if (keep > 0 && keep == prompt.size()) --keep;
    truncate(int(std::min(keep, size_t(n_past_))));
    return n_past_;
}

uint64_t Session::kv_bytes() const {
    const Impl& I = *impl_;
    return (I.kc.size() + I.vc.size()) * sizeof(uint16_t) + I.kq.size() + I.vq.size() + (I.ks.size() + I.vs.size()) * sizeof(float);
}

uint64_t code_copy_budget() {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) / 4 : 0;
}

int Session::code_copy_from() const { return impl_->code_copy_from; }

CopyTiming Session::code_copy_timing(int bits) const {
    const Impl& I = *impl_;
    return bits >= 0 && bits <= kern::kMaxBits ? I.copy_timing[bits] : CopyTiming{};
}

uint64_t Session::code_copy_max_bytes() const { return impl_->copyable_bytes; }

double Session::code_copy_share() const { return impl_->copyable_share; }

uint64_t Session::code_copy_bytes() const {
    uint64_t n = 0;
    for (const auto& [w, c] : impl_->copies) n += c.bytes;
    return n;
}

uint64_t Session::bytes_per_token(int bits) const {
    const Impl& I = *impl_;
    uint64_t n = ap::bytes_per_token(m_, bits);
    if (!I.k.expand_ap || I.code_copy_from <= 0) return n;
    auto copied = [&](const Linear& l, int w) {
        if (!l.quantized() || !I.copies_at(l.ap.get(), w)) return;
        n -= kern::ap_bytes_read(l.ap->view(), w);
        // The codes, each row's scale and offset, and for a copy of indices the tables.
        const int layout = I.layout_at(w);
        n += I.k.expand_bytes(l.rows, l.cols, w, layout) +
             uint64_t(l.rows) * (8 + (w <= kern::copy_indices_upto(I.k, layout) ? 1u << w : 0u));
    };
    const int b = m_.resolve_bits(bits);
    for (const auto& L : m_.layers)
        for (const Linear* l : L.projections()) copied(*l, b);
    copied(m_.output(), m_.head_bits(b));
    return n;
}

uint64_t Session::activation_bytes() const {
    const Impl& I = *impl_;
    size_t n = I.x.size() + I.xn.size() + I.q.size() + I.kk.size() + I.vv.size() + I.att.size() + I.tmp.size() +
               I.gate.size() + I.up.size() + I.cosb.size() + I.sinb.size() + I.cosl.size() + I.sinl.size() +
               I.last_logits.capacity();
    return n * sizeof(float);
}

void Session::eval(const int32_t* tokens, int n, int bits, std::vector<float>* logits, bool all_logits) {
    Impl& I = *impl_;
    const ModelConfig& c = m_.cfg;
    if (n <= 0) return;
    if (n_past_ + n > n_ctx_)
        throw Error("context full: " + std::to_string(n_past_ + n) + " tokens do not fit the context of " +
                    std::to_string(n_ctx_) + " (raise --ctx)");
    for (int i = 0; i < n; ++i)
        if (tokens[i] < 0 || tokens[i] >= c.n_vocab) throw Error("token id " + std::to_string(tokens[i]) + " out of range");
    bits = m_.resolve_bits(bits);
    const int E = c.n_embd, H = c.n_head, KVH = c.n_head_kv, hd = c.head_dim, F = c.n_ff, V = c.n_vocab;
    const int Qd = H * hd, KVd = KVH * hd, half = hd / 2;
    if (logits) logits->resize(size_t(all_logits ? n : 1) * V);

    if (I.profiling) {
        I.mark = std::chrono::steady_clock::now();
        I.prof.tokens += n;
        I.prof.evals++;
    }
    for (int off = 0; off < n; off += I.B) {
        const int nb = std::min(I.B, n - off);
        const int pos0 = n_past_;
        // Embedding rows (dequantized from the bitplanes at this width when quantized).
        for (int t = 0; t < nb; ++t) {
            const int id = tokens[off + t];
            float* dst = &I.x[size_t(t) * E];
            if (m_.embed.quantized()) I.k.dequant_ap(m_.embed.ap->view(), m_.head_bits(bits), id, id + 1, dst);
            else m_.embed.dense_rows(id, id + 1, dst);
            if (c.embed_scale) {
                const float sc = std::sqrt(float(E));
                for (int i = 0; i < E; ++i) dst[i] *= sc;
            }
        }
        rope_tables(m_.rope_inv_freq.data(), half, pos0, nb, I.cosb.data(), I.sinb.data());
        if (c.rope_attn_factor > 0 && c.rope_attn_factor != 1.f)  // LongRoPE scales cos and sin
            for (size_t i = 0; i < size_t(nb) * half; ++i) I.cosb[i] *= c.rope_attn_factor, I.sinb[i] *= c.rope_attn_factor;
        if (!I.cosl.empty()) rope_tables(m_.rope_inv_freq_local.data(), half, pos0, nb, I.cosl.data(), I.sinl.data());
        I.lap(&ForwardProfile::embed_s);

        for (int l = 0; l < c.n_layer; ++l) {
            const LayerWeights& L = m_.layers[l];
            for (int t = 0; t < nb; ++t) rms_norm(&I.x[size_t(t) * E], L.attn_norm.data(), E, c.rms_eps, &I.xn[size_t(t) * E]);
            I.lap(&ForwardProfile::norm_s);
            I.matmuls({{&L.wq, I.q.data()}, {&L.wk, I.kk.data()}, {&L.wv, I.vv.data()}}, I.xn.data(), nb, bits);
            if (!L.q_bias.empty())
                for (int t = 0; t < nb; ++t) {
                    for (int i = 0; i < Qd; ++i) I.q[size_t(t) * Qd + i] += L.q_bias[i];
                    for (int i = 0; i < KVd; ++i) I.kk[size_t(t) * KVd + i] += L.k_bias[i];
                    for (int i = 0; i < KVd; ++i) I.vv[size_t(t) * KVd + i] += L.v_bias[i];
                }
            if (!L.q_norm.empty())  // per-head RMSNorm of q and k (in place)
                for (int t = 0; t < nb; ++t) {
                    for (int h = 0; h < H; ++h) {
                        float* v = &I.q[size_t(t) * Qd + h * hd];
                        rms_norm(v, L.q_norm.data(), hd, c.rms_eps, v);
                    }
                    for (int h = 0; h < KVH; ++h) {
                        float* v = &I.kk[size_t(t) * KVd + h * hd];
                        rms_norm(v, L.k_norm.data(), hd, c.rms_eps, v);
                    }
                }
            I.lap(&ForwardProfile::qkv_s);
            const bool slides = c.layer_slides(l);
            const bool local_rope = slides && !I.cosl.empty();
            for (int t = 0; t < nb; ++t) {
                const float* cs = &(local_rope ? I.cosl : I.cosb)[size_t(t) * half];
                const float* sn = &(local_rope ? I.sinl : I.sinb)[size_t(t) * half];
                for (int h = 0; h < H; ++h) rope_rotate_half(&I.q[size_t(t) * Qd + h * hd], hd, cs, sn);
                for (int h = 0; h < KVH; ++h) rope_rotate_half(&I.kk[size_t(t) * KVd + h * hd], hd, cs, sn);
                I.store_kv(c, l, t, pos0 + t);
            }
            I.lap(&ForwardProfile::rope_s);
            I.attention(c, l, pos0, nb, slides);
            I.lap(&ForwardProfile::attention_s);
            I.matmul(L.wo, I.att.data(), nb, I.tmp.data(), bits);
            if (!L.post_attn_norm.empty())
                for (int t = 0; t < nb; ++t) {
                    float* v = &I.tmp[size_t(t) * E];
                    rms_norm(v, L.post_attn_norm.data(), E, c.rms_eps, v);
                }
            for (size_t i = 0; i < size_t(nb) * E; ++i) I.x[i] += I.tmp[i];
            I.lap(&ForwardProfile::attn_out_s);

            for (int t = 0; t < nb; ++t) rms_norm(&I.x[size_t(t) * E], L.mlp_norm.data(), E, c.rms_eps, &I.xn[size_t(t) * E]);
            I.lap(&ForwardProfile::norm_s);
            I.matmuls({{&L.w_gate, I.gate.data()}, {&L.w_up, I.up.data()}}, I.xn.data(), nb, bits);
            if (c.gelu_mlp) gelu_tanh_mul(I.gate.data(), I.up.data(), size_t(nb) * F);
            else I.k.silu_mul(I.gate.data(), I.up.data(), size_t(nb) * F);
            I.matmul(L.w_down, I.gate.data(), nb, I.tmp.data(), bits);
            if (!L.post_mlp_norm.empty())
                for (int t = 0; t < nb; ++t) {
                    float* v = &I.tmp[size_t(t) * E];
                    rms_norm(v, L.post_mlp_norm.data(), E, c.rms_eps, v);
                }
            for (size_t i = 0; i < size_t(nb) * E; ++i) I.x[i] += I.tmp[i];
            I.lap(&ForwardProfile::mlp_s);
        }
        n_past_ += nb;

        if (!logits) continue;
        const bool last_chunk = off + nb == n;
        if (!all_logits && !last_chunk) continue;
        // Only the rows whose logits are wanted go through the (large) output head.
        const int first = all_logits ? 0 : nb - 1;
        const int rows = nb - first;
        for (int t = first; t < nb; ++t)
            rms_norm(&I.x[size_t(t) * E], m_.final_norm.data(), E, c.rms_eps, &I.xn[size_t(t - first) * E]);
        float* out = all_logits ? logits->data() + size_t(off) * V : logits->data();
        I.lap(&ForwardProfile::other_s);
        I.matmul(m_.output(), I.xn.data(), rows, out, m_.head_bits(bits));
        if (c.final_softcap > 0) soft_cap(out, size_t(rows) * V, c.final_softcap);
        I.lap(&ForwardProfile::head_s);
    }
    cached_.insert(cached_.end(), tokens, tokens + n);
    cache_bits_ = bits;
}

}  // namespace ap
