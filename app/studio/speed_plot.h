// Tokens/s over time, one coloured series per width, fed live while the
// model generates. Replots are queued (coalesced by QCustomPlot) and each
// series keeps a bounded history.
#pragma once
#include "plot_card.h"
#include "studio_types.h"

#include <QElapsedTimer>
#include <QMap>
#include <QSet>

class QCPGraph;

namespace studio {

class SpeedPlot : public PlotCard {
    Q_OBJECT
public:
    static constexpr int kMaxPointsPerWidth = 2000;

    explicit SpeedPlot(QWidget* parent = nullptr);

    // One decoded token's stats; the x value is seconds since the plot started.
    void addStats(const TokenStats& s);
    void addPoint(double t, double tokensPerSecond, int bits);
    void clear();
    int pointCount(int bits) const;
    // Mean decode speed seen at each width (feeds the speed-vs-quality scatter).
    QMap<int, double> meanSpeeds() const;
    int segmentCount(int bits) const;  // runs of points the plot draws as separate lines
    QString csv() const override;

signals:
    void meanSpeedsChanged();

private:
    QCPGraph* graphFor(int bits);
    QMap<int, QCPGraph*> graphs_;
    QMap<int, QPair<double, int>> sums_;  // bits -> (sum of tok/s, count)
    QMap<int, double> lastT_;             // bits -> time of its last point
    QSet<int> newAnswer_;                 // widths whose next point starts a new answer (interleaved compare streams too)
    QElapsedTimer clock_;
    double maxY_ = 10;
};

}  // namespace studio
