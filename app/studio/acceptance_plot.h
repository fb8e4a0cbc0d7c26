// Accepted length per speculative round over the last speculative answer:
// one point per round at the answer position where the round ended, how many
// of its drafts the verifying width accepted, and (dashed) how many it
// proposed, so the adaptive draft length is visible too.
#pragma once
#include "plot_card.h"
#include "studio_types.h"

class QCPGraph;

namespace studio {

class AcceptancePlot : public PlotCard {
    Q_OBJECT
public:
    explicit AcceptancePlot(QWidget* parent = nullptr);

    // One token of the chat. A new answer replaces the plot at its first round,
    // so a plain answer leaves the last speculative one on show.
    void addStats(const TokenStats& s);
    void clear();
    int roundCount() const;
    int acceptedAt(int round) const;   // -1 out of range
    int proposedAt(int round) const;
    QString csv() const override;

private:
    void refreshNote();

    QCPGraph* accepted_ = nullptr;
    QCPGraph* proposed_ = nullptr;
    QList<int> roundBits_;  // verifying width of each round (for the CSV)
    bool newAnswer_ = false;
    int maxY_ = 4;
    double maxX_ = 0;
};

}  // namespace studio
