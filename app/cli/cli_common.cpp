#include "cli_common.h"

#include "error.h"

#include <chrono>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace apcli {

std::unique_ptr<ap::Model> load_model_verbose(const std::string& path) {
    const bool tty = isatty(fileno(stderr));
    auto t0 = std::chrono::steady_clock::now();
    auto m = ap::load_model(path, [&](double f, const std::string& stage) {
        if (tty) std::fprintf(stderr, "\rloading %3.0f%% %-40s", f * 100, stage.c_str());
        return true;
    });
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (tty) std::fprintf(stderr, "\r%-60s\r", "");
    std::fprintf(stderr, "loaded %s (%s) in %.2f s\n", path.c_str(), m->source_note.c_str(), s);
    if (!m->chat_warning.empty()) std::fprintf(stderr, "warning: %s\n", m->chat_warning.c_str());
    return m;
}

ap::SamplingParams sampling_from(const Args& a) {
    ap::SamplingParams p;
    p.temperature = float(a.number("--temp", p.temperature));
    p.top_k = int(a.integer("--top-k", p.top_k, 0, ap::limits::kMaxVocab));
    p.top_p = float(a.number("--top-p", p.top_p));
    p.min_p = float(a.number("--min-p", p.min_p));
    p.repeat_penalty = float(a.number("--repeat-penalty", p.repeat_penalty));
    p.repeat_last_n = int(a.integer("--repeat-last-n", p.repeat_last_n, 0, ap::limits::kMaxContext));
    p.seed = uint64_t(a.integer("--seed", (long long)p.seed, 0, LLONG_MAX));
    if (p.temperature < 0) throw ap::Error("--temp must be >= 0");
    if (p.top_p <= 0 || p.top_p > 1) throw ap::Error("--top-p must be in (0, 1]");
    if (p.min_p < 0 || p.min_p >= 1) throw ap::Error("--min-p must be in [0, 1)");
    if (p.repeat_penalty <= 0) throw ap::Error("--repeat-penalty must be > 0");
    return p;
}

ap::SessionOptions session_from(const Args& a) {
    ap::SessionOptions o;
    o.threads = threads_from(a);
    o.n_ctx = int(a.integer("--ctx", o.n_ctx, 16, ap::limits::kMaxContext));
    o.kernels = kernels_from(a);
    o.kv_cache = kv_cache_from(a);
    o.code_copy_from = code_copy_from(a);
    o.code_copy_budget = copy_budget_from(a);
    return o;
}

uint64_t copy_budget_from(const Args& a) {
    return uint64_t(a.integer("--copy-budget", 0, 1, 1LL << 30)) << 20;
}

int code_copy_from(const Args& a) {
    const std::string v = a.str("--code-copy", "auto");
    if (v == "auto") return ap::kCodeCopyAuto;
    if (v == "always") return ap::kCodeCopyAlways;
    const int b = int(a.integer("--code-copy", 0, 0, ap::kern::kMaxBits));
    if (b != 0 && b < ap::kern::kMinBits) throw ap::Error("--code-copy " + std::to_string(b) + ": expected auto, always, 0 (off) or a width");
    return b;
}

ap::KvCache kv_cache_from(const Args& a) {
    const std::string k = a.str("--kv-cache", "f16");
    if (k == "f16") return ap::KvCache::F16;
    if (k == "q8") return ap::KvCache::Q8;
    throw ap::Error("--kv-cache " + k + ": expected f16 or q8");
}

ap::kern::KernelChoice kernels_from(const Args& a) {
    const std::string k = a.str("--kernels", "auto");
    if (k == "auto") return ap::kern::KernelChoice::Auto;
    if (k == "avx2") return ap::kern::KernelChoice::Avx2;
    if (k == "avxvnni") return ap::kern::KernelChoice::AvxVnni;
    if (k == "scalar") return ap::kern::KernelChoice::Scalar;
    throw ap::Error("--kernels " + k + ": expected auto, avxvnni, avx2 or scalar");
}

void check_width(const ap::Model& m, int b) {
    if (b == 0) return;
    if (!m.any_precision())
        throw ap::Error("--bits " + std::to_string(b) + ": " + m.path +
                        " is not an any-precision checkpoint (quantize it with `anyprec quantize`)");
    if (b < m.min_bits() || b > m.max_bits())
        throw ap::Error("--bits " + std::to_string(b) + ": " + m.path + " serves " + std::to_string(m.min_bits()) +
                        ".." + std::to_string(m.max_bits()) + " bits");
}

void warn_unencodable(const ap::Tokenizer& tok, std::string_view text) {
    const size_t n = tok.unencodable_bytes(text);
    if (n == 0) return;
    const int32_t unk = tok.data().unk_id;
    std::fprintf(stderr, "warning: %zu byte(s) of the prompt have no token in this vocabulary; %s\n", n,
                 unk >= 0 ? ("each becomes the unknown token " + tok.token_bytes(unk, true)).c_str()
                          : "encoding will fail");
}

int threads_from(const Args& a) { return int(a.integer("--threads", 0, 0, ap::limits::kMaxThreads)); }

std::vector<int> widths_from(const Args& a, const char* option) { return a.int_list(option, ap::kern::kMinBits, ap::kern::kMaxBits); }

int bits_from(const Args& a, const ap::Model& m) {
    const int b = int(a.integer("--bits", 0, ap::kern::kMinBits, ap::kern::kMaxBits));
    check_width(m, b);
    return b;
}

void decode_options_from(const Args& a, const ap::Model& m, ap::GenerateRequest& req) {
    if (a.has("--draft-bits")) {
        req.draft_bits = int(a.integer("--draft-bits", 0, ap::kern::kMinBits, ap::kern::kMaxBits));
        check_width(m, req.draft_bits);
        const int target = m.resolve_bits(req.bits);
        if (req.draft_bits >= target)
            throw ap::Error("--draft-bits " + std::to_string(req.draft_bits) + " must be narrower than the verifying width (" +
                            std::to_string(target) + " bits)");
    }
    req.draft_k = int(a.integer("--draft-k", req.draft_k, 1, ap::kern::kFewTokens - 1));
    req.adaptive_k = !a.has("--fixed-k");
    if (a.has("--target-tps")) {
        req.target_tps = a.number("--target-tps", 0);
        if (!(req.target_tps > 0) || req.target_tps > 1e6) throw ap::Error("--target-tps must be a positive rate (tokens/s)");
        if (req.draft_bits) throw ap::Error("--target-tps and --draft-bits cannot be combined");
    }
}

std::string decode_summary(const ap::GenerateResult& r) {
    char buf[256];
    std::string out;
    if (r.n_rounds > 0) {
        std::snprintf(buf, sizeof buf, "speculative: %d rounds, %d of %d drafts accepted (%.0f%%), %.2f tokens per round\n",
                      r.n_rounds, r.n_accepted, r.n_drafted, 100 * r.acceptance(), r.mean_round_tokens());
        out += buf;
    }
    if (r.width_counts.size() > 1) {
        out += "tokens per width:";
        for (const auto& [b, n] : r.width_counts) {
            std::snprintf(buf, sizeof buf, " %d bits %d,", b, n);
            out += buf;
        }
        out.back() = '\n';
    }
    return out;
}

OptionSpec head_floor_option() {
    return {"--head-min-bits", "", true, "serve the embedding/head at no less than this width (0 = at the served width)",
            "the checkpoint's choice"};
}

void apply_head_floor(const Args& a, ap::Model& m) {
    if (!a.has("--head-min-bits")) return;
    const int f = int(a.integer("--head-min-bits", 0, 0, ap::kern::kMaxBits));
    if (f != 0 && (!m.any_precision() || f < m.min_bits() || f > m.max_bits()))
        throw ap::Error("--head-min-bits " + std::to_string(f) + ": this model serves " +
                        (m.any_precision() ? std::to_string(m.min_bits()) + ".." + std::to_string(m.max_bits()) + " bits"
                                           : std::string("full precision only")));
    m.quant.head_min_bits = f;
}

std::string human_bytes(uint64_t b) {
    char buf[64];
    if (b >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", b / double(1ull << 30));
    else if (b >= (1ull << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", b / double(1ull << 20));
    else if (b >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
    else std::snprintf(buf, sizeof buf, "%llu B", (unsigned long long)b);
    return buf;
}

std::string read_text_file(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) throw ap::file_error(path, "is a directory, not a text file");
    if (!std::filesystem::exists(path, ec)) throw ap::file_error(path, "no such text file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ap::file_error(path, "cannot open text file");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace apcli
