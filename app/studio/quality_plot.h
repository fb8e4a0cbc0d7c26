// Perplexity per width (and the source model) as bars, with an optional
// speed-vs-quality scatter: tokens/s against perplexity, one point per width.
#pragma once
#include "plot_card.h"

#include <QMap>

class QCheckBox;

namespace studio {

class QualityPlot : public PlotCard {
    Q_OBJECT
public:
    explicit QualityPlot(QWidget* parent = nullptr);

    void setPerplexity(int bits, double ppl);  // bits -1: source model
    void clearPerplexity();
    void setSpeeds(const QMap<int, double>& tokensPerSecond);
    void setScatterVisible(bool on);
    bool scatterVisible() const;
    const QMap<int, double>& perplexities() const { return ppl_; }
    int scatterPointCount() const;
    void setSourceNote(const QString& note) { sourceNote_ = note; rebuild(); }
    QString csv() const override;

private:
    void rebuild();
    QMap<int, double> ppl_;
    QMap<int, double> speed_;
    QCheckBox* scatterToggle_ = nullptr;
    QString sourceNote_;
    int scatterPoints_ = 0;
};

}  // namespace studio
