#include "speed_plot.h"

#include "format_util.h"
#include "theme.h"

#include <qcustomplot.h>

namespace studio {

SpeedPlot::SpeedPlot(QWidget* parent) : PlotCard(tr("Decode speed"), parent) {
    plot()->xAxis->setLabel(tr("time (s)"));
    plot()->yAxis->setLabel(tr("tokens/s"));
    plot()->xAxis->setRange(0, 30);
    plot()->yAxis->setRange(0, maxY_);
    plot()->legend->setVisible(false);  // shown once a width has points, never as an empty box
    plot()->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
    plot()->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    setNote(tr("Speed over the last 8 tokens; the first token (prompt) is not counted."));
}

QCPGraph* SpeedPlot::graphFor(int bits) {
    if (auto* g = graphs_.value(bits)) return g;
    QCPGraph* g = plot()->addGraph();
    const QColor c = theme::widthColor(bits);
    g->setPen(QPen(c, 2));
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, c, c, 3));
    g->setName(fmt::width(bits));
    graphs_.insert(bits, g);
    plot()->legend->setVisible(true);
    return g;
}

void SpeedPlot::addStats(const TokenStats& s) {
    if (s.index == 0) newAnswer_.insert(s.bits);  // a new answer: its line must not join the last one's
    if (s.index == 0 || s.tokensPerSecond <= 0) return;  // first token: prompt time, not decode speed
    // Time starts at the first plotted token, not at start-up.
    if (!clock_.isValid()) clock_.start();
    addPoint(clock_.elapsed() / 1000.0, s.tokensPerSecond, s.bits);
}

void SpeedPlot::addPoint(double t, double tokensPerSecond, int bits) {
    QCPGraph* g = graphFor(bits);
    // A NaN point breaks the line: across an idle gap or between two answers
    // the plot shows separate segments instead of a straight line.
    constexpr double kGapSeconds = 2.0;
    if (lastT_.contains(bits) && (newAnswer_.contains(bits) || t - lastT_.value(bits) > kGapSeconds))
        g->addData(t - 1e-6, qQNaN());
    newAnswer_.remove(bits);
    lastT_[bits] = t;
    g->addData(t, tokensPerSecond);
    auto data = g->data();
    if (data->size() > kMaxPointsPerWidth) data->removeBefore(data->at(data->size() - kMaxPointsPerWidth)->key);
    auto& sum = sums_[bits];
    sum.first += tokensPerSecond;
    sum.second += 1;
    maxY_ = qMax(maxY_, tokensPerSecond * 1.15);
    plot()->yAxis->setRange(0, maxY_);
    const double window = 60;
    plot()->xAxis->setRange(qMax(0.0, t - window), qMax(30.0, t + 2));
    // Queued: many tokens per frame cost one replot.
    plot()->replot(QCustomPlot::rpQueuedReplot);
    emit meanSpeedsChanged();
}

void SpeedPlot::clear() {
    plot()->clearGraphs();
    graphs_.clear();
    sums_.clear();
    lastT_.clear();
    newAnswer_.clear();
    plot()->legend->setVisible(false);
    maxY_ = 10;
    clock_.invalidate();
    plot()->xAxis->setRange(0, 30);
    plot()->yAxis->setRange(0, maxY_);
    plot()->replot(QCustomPlot::rpQueuedReplot);
    emit meanSpeedsChanged();
}

int SpeedPlot::pointCount(int bits) const {
    const auto* g = graphs_.value(bits);
    if (!g) return 0;
    int n = 0;
    for (auto d = g->data()->constBegin(); d != g->data()->constEnd(); ++d) n += !qIsNaN(d->value);
    return n;
}

int SpeedPlot::segmentCount(int bits) const {
    const auto* g = graphs_.value(bits);
    if (!g) return 0;
    int n = 0;
    bool in = false;
    for (auto d = g->data()->constBegin(); d != g->data()->constEnd(); ++d) {
        if (!qIsNaN(d->value) && !in) ++n;
        in = !qIsNaN(d->value);
    }
    return n;
}

QMap<int, double> SpeedPlot::meanSpeeds() const {
    QMap<int, double> out;
    for (auto it = sums_.begin(); it != sums_.end(); ++it)
        if (it.value().second > 0) out.insert(it.key(), it.value().first / it.value().second);
    return out;
}

QString SpeedPlot::csv() const {
    QString out = QStringLiteral("bits,time_s,tokens_per_s\n");
    for (auto it = graphs_.begin(); it != graphs_.end(); ++it)
        for (auto d = it.value()->data()->constBegin(); d != it.value()->data()->constEnd(); ++d) {
            if (qIsNaN(d->value)) continue;  // gap markers are not measurements
            out += QStringLiteral("%1,%2,%3\n").arg(it.key()).arg(d->key, 0, 'f', 3).arg(d->value, 0, 'f', 3);
        }
    return out;
}

}  // namespace studio
