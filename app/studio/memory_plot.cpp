#include "memory_plot.h"

#include "format_util.h"
#include "theme.h"

#include <qcustomplot.h>

namespace studio {

namespace {
// Segment colours chosen outside theme::widthColor's palette: the right-hand
// bar is coloured by width, and a KV cache in the 6-bit green or bitplanes in
// the 8-bit blue read as widths.
const QColor kPlanes(0x34, 0x49, 0x5e), kTables(0x8a, 0x9b, 0xb0), kDense(0xc9, 0xcd, 0xd3), kKv(0x9c, 0x5b, 0x2e),
    kActivations(0xe8, 0x9c, 0xc4), kCopy(0x5e, 0x4a, 0x7a);
}  // namespace

MemoryPlot::MemoryPlot(QWidget* parent) : PlotCard(tr("Memory"), parent) {
    plot()->yAxis->setLabel(tr("MiB"));
    // The legend sits in its own row under the bars: inside the axis rect it
    // covered the right-hand bar whatever corner it was put in.
    QCPLegend* legend = plot()->legend;
    legend->setVisible(true);
    plot()->axisRect()->insetLayout()->take(legend);
    plot()->plotLayout()->addElement(1, 0, legend);
    plot()->plotLayout()->setRowStretchFactor(1, 0.001);
    legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    legend->setWrap(3);
    legend->setMargins(QMargins(4, 2, 4, 2));
    plot()->setMinimumHeight(260);
    rebuild();
}

void MemoryPlot::setModel(const ModelInfo& info) {
    info_ = info;
    rebuild();
}

void MemoryPlot::setRuntimeBytes(quint64 kvBytes, quint64 activationBytes, quint64 copyBytes) {
    if (info_.kvBytes == kvBytes && info_.activationBytes == activationBytes && info_.copyBytes == copyBytes) return;
    info_.kvBytes = kvBytes;
    info_.activationBytes = activationBytes;
    info_.copyBytes = copyBytes;
    rebuild();
}

int MemoryPlot::segmentCount() const {
    int n = 0;
    for (int i = 0; i < plot()->plottableCount(); ++i)
        if (auto* b = qobject_cast<QCPBars*>(plot()->plottable(i)); b && !b->data()->isEmpty()) ++n;
    return n;
}

QList<QColor> MemoryPlot::segmentColors() const {
    QList<QColor> out;
    for (int i = 0; i < plot()->plottableCount(); ++i)
        if (auto* b = qobject_cast<QCPBars*>(plot()->plottable(i)); b && !b->data()->isEmpty()) out << b->brush().color();
    return out;
}

void MemoryPlot::rebuild() {
    QCustomPlot* p = plot();
    p->clearPlottables();
    rows_.clear();
    barNames_.clear();
    if (!info_.isValid()) {
        setNote(tr("Load a model to see its memory."));
        p->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const double MB = double(1 << 20);  // MiB, the unit the CLI and the rest of the app use
    QCPBars* below = nullptr;
    auto segment = [&](const QString& name, const QColor& color, const QList<double>& mb) {
        rows_.append({name, mb});
        auto* bars = new QCPBars(p->xAxis, p->yAxis);
        bars->setName(name);
        bars->setPen(QPen(color.darker(115)));
        bars->setBrush(color);
        bars->setWidth(0.55);
        bars->setStackingGap(0);
        for (int i = 0; i < mb.size(); ++i)
            if (mb[i] > 0) bars->addData(i + 1, mb[i]);
        if (below) bars->moveAbove(below);
        below = bars;
    };
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    double top = 0;
    const double kv = info_.kvBytes / MB, act = info_.activationBytes / MB;
    if (info_.anyPrecision) {
        barNames_ = {tr("Any-precision\n(serves %1\u2013%2 bit)").arg(info_.seedBits).arg(info_.parentBits),
                     tr("Separate models\n%1..%2-bit").arg(info_.seedBits).arg(info_.parentBits)};
        segment(tr("Bitplanes"), kPlanes, {info_.planeBytes / MB, 0});
        segment(tr("Tables"), kTables, {info_.tableBytes / MB, 0});
        quint64 sepTotal = 0;
        for (const WidthInfo& w : info_.widths) {
            segment(tr("%1 model").arg(fmt::width(w.bits)), theme::widthColor(w.bits).lighter(115),
                    {0, w.separateBytes / MB});
            sepTotal += w.separateBytes;
        }
        segment(tr("Unquantized tensors"), kDense, {info_.denseBytes / MB, 0});
        segment(tr("KV cache"), kKv, {kv, kv});
        segment(tr("Activations"), kActivations, {act, act});
        const double copy = info_.copyBytes / MB;  // separate models need none: they hold their codes as they are
        segment(tr("Copy of the active width's codes"), kCopy, {copy, 0});
        const double apTotal = info_.weightBytes() / MB + kv + act + copy;
        const double sepAll = sepTotal / MB + kv + act;
        top = qMax(apTotal, sepAll);
        setNote(tr("Weights: %1 for every width at once, against %2 for separate models (%3\u00d7).")
                    .arg(fmt::bytes(info_.weightBytes()), fmt::bytes(sepTotal))
                    .arg(info_.weightBytes() ? double(sepTotal) / info_.weightBytes() : 0, 0, 'f', 2));
    } else {
        barNames_ = {tr("%1\n(one width)").arg(info_.name)};
        segment(tr("Weights (fp32)"), theme::widthColor(0), {info_.weightBytes() / MB});
        segment(tr("KV cache"), kKv, {kv});
        segment(tr("Activations"), kActivations, {act});
        top = info_.weightBytes() / MB + kv + act;
        setNote(tr("A plain model serves one width. Quantize it to any-precision to serve 3..8 bits from one copy."));
    }
    for (int i = 0; i < barNames_.size(); ++i) ticker->addTick(i + 1, barNames_[i]);
    p->xAxis->setTicker(ticker);
    p->xAxis->setRange(0.4, barNames_.size() + 0.6);
    p->yAxis->setRange(0, top * 1.12);
    p->replot(QCustomPlot::rpQueuedReplot);
}

QString MemoryPlot::csv() const {
    QString out = QStringLiteral("segment");
    for (const QString& b : barNames_) out += QStringLiteral(",\"%1 (MB)\"").arg(QString(b).replace('\n', ' '));
    out += '\n';
    for (const auto& r : rows_) {
        out += QStringLiteral("\"%1\"").arg(r.first);
        for (double v : r.second) out += QStringLiteral(",%1").arg(v, 0, 'f', 3);
        out += '\n';
    }
    return out;
}

}  // namespace studio
