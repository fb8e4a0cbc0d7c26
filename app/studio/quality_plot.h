// Perplexity per width (and the source model) as bars, with an optional
// speed-vs-quality scatter: tokens/s against perplexity, one point per width.
#pragma once
#include "plot_card.h"

#include <QMap>

class QCheckBox;
class QPushButton;

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
    // Widths with a perplexity but no measured speed (the scatter cannot place them).
    QList<int> widthsWithoutSpeed() const;
    QPushButton* measureSpeedButton() const { return measureSpeed_; }
    void setSourceNote(const QString& note) { sourceNote_ = note; rebuild(); }
    QString csv() const override;

signals:
    // "Measure speed at the missing widths": a short generation at each.
    void speedMeasureRequested(const QList<int>& widths);

protected:
    void themeChanged() override { rebuild(); }

private:
    void rebuild();
    QMap<int, double> ppl_;
    QMap<int, double> speed_;
    QCheckBox* scatterToggle_ = nullptr;
    QPushButton* measureSpeed_ = nullptr;
    QString sourceNote_;
    int scatterPoints_ = 0;
};

}  // namespace studio
