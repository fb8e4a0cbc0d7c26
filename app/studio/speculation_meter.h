// Live figures of self-speculative decoding, computed from the per-token
// stats: acceptance (drafts accepted / drafts proposed), tokens per verify
// pass, and the speed-up over plain decoding at the same verifying width.
// The speed-up's baseline is measured, never assumed: the plain tokens this
// session decoded at that width on this machine. Without them it is unknown.
#pragma once
#include "studio_types.h"

#include <QMap>

namespace studio {

class SpeculationMeter {
public:
    // One token of the chat; index 0 starts a new answer (the per-answer figures reset).
    void add(const TokenStats& s);

    int rounds() const { return rounds_; }
    int proposed() const { return proposed_; }
    int accepted() const { return accepted_; }
    double acceptance() const { return proposed_ ? double(accepted_) / proposed_ : 0; }
    // Tokens per verify pass: accepted drafts plus the verifier's own token.
    double tokensPerPass() const { return rounds_ ? double(accepted_ + rounds_) / rounds_ : 0; }
    int lastVerifyBits() const { return lastBits_; }

    // Decode rate of this answer's speculative tokens verified at `bits` (0 = none yet).
    double speculativeTps(int bits) const { return rate(spec_.value(bits)); }
    // Decode rate of plain tokens at `bits` seen this session (0 = none measured).
    double plainTps(int bits) const { return rate(plain_.value(bits)); }
    // speculativeTps / plainTps at the verifying width; 0 when either is unknown.
    double speedup(int bits) const;

private:
    struct Sum {
        int tokens = 0;
        double seconds = 0;
    };
    static double rate(const Sum& s) { return s.seconds > 0 ? s.tokens / s.seconds : 0; }

    int rounds_ = 0, proposed_ = 0, accepted_ = 0, lastBits_ = 0;
    int inRound_ = 0;          // tokens of the round in progress (they arrive before its last token)
    double inRoundS_ = 0;
    QMap<int, Sum> spec_;      // this answer, by verifying width
    QMap<int, Sum> plain_;     // the session, by width
};

}  // namespace studio
