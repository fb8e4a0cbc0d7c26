// Pieces every anyprec command shares: model loading with a progress line,
// sampling/session options from flags, human-readable sizes.
#pragma once
#include "ap_matrix.h"
#include "cli_args.h"
#include "input_limits.h"
#include "model.h"
#include "session.h"

#include <climits>
#include <memory>
#include <vector>
#include <string>
#include <string_view>

namespace apcli {

std::unique_ptr<ap::Model> load_model_verbose(const std::string& path);
// --head-min-bits: the embedding/head width floor for this run (the checkpoint's default otherwise).
OptionSpec head_floor_option();
// --kv-cache f16|q8 (SessionOptions::kv_cache; its spec: kv_cache_option).
ap::KvCache kv_cache_from(const Args& a);
// --code-copy B: 0 (off) or a width in kMinBits..kMaxBits.
int code_copy_from(const Args& a);
// --copy-budget MiB as bytes (SessionOptions::code_copy_budget; 0 = the default).
uint64_t copy_budget_from(const Args& a);
void apply_head_floor(const Args& a, ap::Model& m);
ap::SamplingParams sampling_from(const Args& a);
ap::SessionOptions session_from(const Args& a);
// --kernels auto|avxvnni|avx2|scalar (the set chosen at run time unless forced).
ap::kern::KernelChoice kernels_from(const Args& a);
// --bits validated against what the model serves (0 = parent / full precision).
int bits_from(const Args& a, const ap::Model& m);
int threads_from(const Args& a);
// --draft-bits, --draft-k, --fixed-k and --target-tps into a request whose bits are set.
void decode_options_from(const Args& a, const ap::Model& m, ap::GenerateRequest& req);
// One line on what speculative decoding or a latency target did (empty when neither ran).
std::string decode_summary(const ap::GenerateResult& r);  // --threads in 0..limits::kMaxThreads (0 = all CPUs)
// Tells stderr how many bytes of text the vocabulary cannot encode (they become the unknown token).
void warn_unencodable(const ap::Tokenizer& tok, std::string_view text);
std::vector<int> widths_from(const Args& a, const char* option);  // a width list, each in kMinBits..kMaxBits
// Throws ap::Error unless the model serves width b (0 always passes).
void check_width(const ap::Model& m, int b);
std::string human_bytes(uint64_t b);
std::string read_text_file(const std::string& path);  // throws ap::Error naming the file

}  // namespace apcli
