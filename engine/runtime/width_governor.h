// Latency target: picks, token by token, the highest width that keeps the
// decode rate at a target, from measured per-token times.
//
// Each token has a deadline (n + 1) / target seconds after the first
// decoded token; the governor picks the highest width whose expected time
// still meets it, so being ahead of schedule buys a wider token and being
// behind a narrower one, and the average rate settles on the target even
// when no single width runs at it. Expected times are per-width moving
// averages; a width not yet run is priced from a measured one by its bytes
// read per token. Every measurement also rescales the other widths by the
// same factor (a busier machine or a longer context slows every width), so
// stale figures do not lock a width out.
#pragma once
#include <utility>
#include <vector>

namespace ap {

class WidthGovernor {
public:
    // widths ascending; cost[i]: a relative price of widths[i] (bytes per token).
    WidthGovernor(std::vector<int> widths, std::vector<double> cost, double target_tps);
    // Width for the next token, given the decode time so far and the tokens it produced.
    int next(double decode_s, int n_decoded) const;
    // A token at `bits` took `seconds`.
    void observe(int bits, double seconds);
    double expected_s(int bits) const;  // 0 until some width was measured

private:
    int index(int bits) const;
    std::vector<int> widths_;
    std::vector<double> cost_, est_;  // est_: seconds per token, 0 = unknown
    double target_;
};

}  // namespace ap
