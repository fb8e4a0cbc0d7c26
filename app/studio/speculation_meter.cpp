#include "speculation_meter.h"

namespace studio {

void SpeculationMeter::add(const TokenStats& s) {
    if (s.index == 0) {
        rounds_ = proposed_ = accepted_ = 0;
        inRound_ = 0;
        inRoundS_ = 0;
        spec_.clear();
        // The first token's time includes the prompt: it measures neither mode.
        return;
    }
    if (s.drafted || s.endsRound()) {
        ++inRound_;
        inRoundS_ += s.tokenS;
        if (!s.endsRound()) return;
        ++rounds_;
        proposed_ += s.roundProposed;
        accepted_ += s.roundAccepted;
        lastBits_ = s.bits;
        Sum& sum = spec_[s.bits];
        sum.tokens += inRound_;
        sum.seconds += inRoundS_;
        inRound_ = 0;
        inRoundS_ = 0;
        return;
    }
    Sum& sum = plain_[s.bits];
    sum.tokens += 1;
    sum.seconds += s.tokenS;
}

double SpeculationMeter::speedup(int bits) const {
    const double spec = speculativeTps(bits), plain = plainTps(bits);
    return spec > 0 && plain > 0 ? spec / plain : 0;
}

}  // namespace studio
