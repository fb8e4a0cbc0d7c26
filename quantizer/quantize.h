// The quantization job: source model -> any-precision checkpoint (or an
// rtn / independent k-means baseline at one width). Used by `anyprec
// quantize` and by the desktop wizard.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace ap {

struct QuantizeOptions {
    std::string source;             // anything load_model() reads
    std::string output;             // checkpoint path (.safetensors)
    std::string method = "anyprec"; // "anyprec", "rtn", "kmeans"
    int seed_bits = 3, parent_bits = 8;  // anyprec
    int anchor_bits = 0;            // anyprec: width clustered optimally, merged below / split above (0 = seed)
    int head_min_bits = 0;          // anyprec: default floor of the embedding/head width when served (0 = none)
    std::string nesting = "greedy";  // anyprec: "greedy" (optimal seed, best splits) or "joint" (seed and tree together; see README)
    double seed_slack = 0.01;       // anyprec joint: seed-width error at most this fraction above the optimal seed's
    int bits = 4;                   // rtn / kmeans: the single width
    std::string calib_path;         // calibration text ("" = default Sherlock text from the cache)
    int calib_tokens = 16384;
    std::string sensitivity = "act";  // "act" (activation second moment) or "none"
    bool quantize_embeddings = true;  // embedding / output head too
    int threads = 0;
};

struct QuantizeProgress {
    double fraction = 0;    // 0..1 over the whole job
    int step = 0, n_steps = 0;  // tensor index / count (calibration counts as step 0)
    std::string stage;      // "calibrating", "quantizing", "writing", "done"
    std::string tensor;     // current tensor name
    double elapsed_s = 0, eta_s = -1;
};

struct QuantizeResult {
    std::string output;
    double seconds = 0;
    uint64_t bytes = 0;
    bool cancelled = false;
    // Sensitivity-weighted squared error over all quantized matrices, indexed
    // by width: with exact (float) tables, and the part the int8 tables add.
    double weighted_error[9] = {}, int8_table_error[9] = {};
};

// Throws ap::Error (naming the file/argument) on bad input or I/O failure;
// on error or cancellation nothing is left at `output` (nor a temporary).
QuantizeResult quantize_model(const QuantizeOptions& opt,
                              const std::function<void(const QuantizeProgress&)>& progress = {},
                              const std::atomic<bool>* cancel = nullptr);

// Checks options before any work (used by the wizard pages too); throws ap::Error.
void validate_quantize_options(const QuantizeOptions& opt);

// Default calibration/evaluation texts from the set-up cache.
std::string anyprec_cache_dir();  // $ANYPREC_CACHE or ~/.cache/anyprec
std::string default_calib_text();  // <cache>/text/sherlock.txt
std::string default_eval_text();   // <cache>/text/mobydick.txt
std::string default_model_path();  // <cache>/models/SmolLM2-135M-Instruct.Q4_1.gguf

}  // namespace ap
