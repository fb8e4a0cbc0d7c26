#include "width_governor.h"

#include "error.h"

#include <algorithm>
#include <cmath>

namespace ap {

namespace {
constexpr double kKeep = 0.75;  // weight of the old estimate in the moving average
}

WidthGovernor::WidthGovernor(std::vector<int> widths, std::vector<double> cost, double target_tps)
    : widths_(std::move(widths)), cost_(std::move(cost)), est_(widths_.size(), 0.0), target_(target_tps) {
    if (widths_.empty() || widths_.size() != cost_.size()) throw Error("latency target: no widths to choose from");
    if (!(target_tps > 0) || !std::isfinite(target_tps)) throw Error("latency target: the rate must be a positive number");
}

int WidthGovernor::index(int bits) const {
    for (size_t i = 0; i < widths_.size(); ++i)
        if (widths_[i] == bits) return int(i);
    return -1;
}

double WidthGovernor::expected_s(int bits) const {
    const int i = index(bits);
    if (i < 0) return 0;
    if (est_[size_t(i)] > 0) return est_[size_t(i)];
    // Priced from the nearest measured width by bytes per token.
    double best = 0;
    int dist = 1 << 30;
    for (size_t j = 0; j < widths_.size(); ++j)
        if (est_[j] > 0 && std::abs(int(j) - i) < dist) {
            dist = std::abs(int(j) - i);
            best = est_[j] * cost_[size_t(i)] / std::max(cost_[j], 1e-30);
        }
    return best;
}

int WidthGovernor::next(double decode_s, int n_decoded) const {
    const double deadline = double(n_decoded + 1) / target_;
    bool any = false;
    for (double e : est_) any = any || e > 0;
    if (!any) return widths_.back();  // nothing measured yet: start at the top and learn
    for (size_t i = widths_.size(); i-- > 0;)
        if (decode_s + expected_s(widths_[i]) <= deadline) return widths_[i];
    return widths_.front();
}

void WidthGovernor::observe(int bits, double seconds) {
    const int i = index(bits);
    if (i < 0 || !(seconds > 0)) return;
    double& e = est_[size_t(i)];
    if (e <= 0) {
        e = seconds;
        return;
    }
    const double before = e;
    e = kKeep * e + (1 - kKeep) * seconds;
    // The same drift for every other measured width.
    const double f = e / before;
    for (size_t j = 0; j < est_.size(); ++j)
        if (int(j) != i && est_[j] > 0) est_[j] *= f;
}

}  // namespace ap
