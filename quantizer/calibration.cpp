// Calibration passes. The head's input is wanted for every position (its
// statistics weight the tied embedding), so windows are run in short chunks
// with all logits, which bounds the logits buffer at chunk x vocabulary.
#include "calibration.h"

#include "error.h"
#include "session.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace ap {

void ActivationStats::add(const std::string& layer, const float* x, int n_rows, int cols) {
    Acc& a = acc_[layer];
    if (a.sum_sq.empty()) a.sum_sq.assign(cols, 0.0);
    if (int(a.sum_sq.size()) != cols) throw Error("calibration: layer " + layer + " changed its input width");
    for (int t = 0; t < n_rows; ++t) {
        const float* row = x + size_t(t) * cols;
        for (int j = 0; j < cols; ++j) a.sum_sq[j] += double(row[j]) * row[j];
    }
    a.rows += n_rows;
}

std::vector<float> ActivationStats::mean_sq(const std::string& layer) const {
    auto it = acc_.find(layer);
    if (it == acc_.end() || it->second.rows == 0) return {};
    std::vector<float> m(it->second.sum_sq.size());
    for (size_t j = 0; j < m.size(); ++j) m[j] = float(it->second.sum_sq[j] / double(it->second.rows));
    return m;
}

int64_t ActivationStats::rows_seen(const std::string& layer) const {
    auto it = acc_.find(layer);
    return it == acc_.end() ? 0 : it->second.rows;
}

std::vector<int32_t> calibration_tokens(const Tokenizer& tok, const std::string& path, int max_tokens) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw file_error(path, "cannot read the calibration text");
    std::stringstream ss;
    ss << in.rdbuf();
    std::vector<int32_t> ids = tok.encode(ss.str(), false, false);
    const size_t need = size_t(std::min(max_tokens, kCalibWindow));
    if (ids.size() < need)
        throw file_error(path, "calibration text too short: " + std::to_string(ids.size()) + " tokens, need at least " +
                                   std::to_string(need));
    if (ids.size() > size_t(max_tokens)) ids.resize(size_t(max_tokens));
    return ids;
}

bool collect_activation_stats(const Model& m, const std::vector<int32_t>& tokens, int threads, ActivationStats& stats,
                              const std::function<bool(double)>& progress) {
    const bool bos = m.tok->data().add_bos && m.tok->data().bos_id >= 0;
    SessionOptions so;
    so.threads = threads;
    so.n_ctx = kCalibWindow + 1;
    Session s(m, so);
    // A model trained on shorter contexts gets shorter windows.
    const int window = std::max(1, std::min(kCalibWindow, s.n_ctx() - (bos ? 1 : 0)));
    constexpr int kChunk = 64;
    s.set_linear_hook([&](const Linear& l, const float* x, int n) { stats.add(l.name, x, n, l.cols); });
    std::vector<float> logits;
    std::vector<int32_t> win;
    const size_t total = tokens.size();
    for (size_t off = 0; off < total; off += size_t(window)) {
        const size_t n = std::min(total - off, size_t(window));
        win.clear();
        if (bos) win.push_back(m.tok->data().bos_id);
        win.insert(win.end(), tokens.begin() + off, tokens.begin() + off + n);
        s.reset();
        for (size_t c = 0; c < win.size(); c += kChunk) {
            if (progress && !progress(double(off + std::min(c, n)) / double(total))) return false;
            const int len = int(std::min(win.size() - c, size_t(kChunk)));
            s.eval(win.data() + c, len, 0, &logits, true);
        }
    }
    if (progress && !progress(1.0)) return false;
    return true;
}

}  // namespace ap
