// Calibration for the activation-second-moment sensitivity (ANYPREC.md §2):
// forward passes over calibration text, recording mean x_j^2 of the input of
// every linear layer, which weights every weight of input column j.
#pragma once
#include "model.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace ap {

constexpr int kCalibWindow = 512;  // tokens per forward pass, each from an empty cache

// Sum of x_j^2 and the number of input rows seen, per linear layer name.
class ActivationStats {
public:
    void add(const std::string& layer, const float* x, int n_rows, int cols);
    // mean x_j^2 per input column; empty if the layer never ran.
    std::vector<float> mean_sq(const std::string& layer) const;
    int64_t rows_seen(const std::string& layer) const;

private:
    struct Acc {
        std::vector<double> sum_sq;
        int64_t rows = 0;
    };
    std::map<std::string, Acc> acc_;
};

// Tokenizes the calibration text (no BOS, no special tokens) and keeps the
// first max_tokens tokens. Throws ap::Error naming the file if it cannot be
// read or gives fewer than min(max_tokens, kCalibWindow) tokens.
std::vector<int32_t> calibration_tokens(const Tokenizer& tok, const std::string& path, int max_tokens);

// Runs the model over `tokens` in windows of kCalibWindow (BOS first when the
// tokenizer adds one), feeding every linear layer's input to `stats`; the
// output head sees every position. progress(fraction) returning false cancels:
// then the function returns false.
bool collect_activation_stats(const Model& m, const std::vector<int32_t>& tokens, int threads, ActivationStats& stats,
                              const std::function<bool(double)>& progress);

}  // namespace ap
