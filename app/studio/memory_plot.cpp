#include "memory_plot.h"

#include "format_util.h"
#include "theme.h"

#include <qcustomplot.h>

namespace studio {

MemoryPlot::MemoryPlot(QWidget* parent) : PlotCard(tr("Memory"), parent) {
    plot()->yAxis->setLabel(tr("MiB"));
    plot()->legend->setVisible(true);
    plot()->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    rebuild();
}

void MemoryPlot::setModel(const ModelInfo& info) {
    info_ = info;
    rebuild();
}

void MemoryPlot::setRuntimeBytes(quint64 kvBytes, quint64 activationBytes) {
    if (info_.kvBytes == kvBytes && info_.activationBytes == activationBytes) return;
    info_.kvBytes = kvBytes;
    info_.activationBytes = activationBytes;
    rebuild();
}

int MemoryPlot::segmentCount() const {
    int n = 0;
    for (int i = 0; i < plot()->plottableCount(); ++i)
        if (auto* b = qobject_cast<QCPBars*>(plot()->plottable(i)); b && !b->data()->isEmpty()) ++n;
    return n;
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
        segment(tr("Bitplanes"), QColor(0x2f, 0x6f, 0xeb), {info_.planeBytes / MB, 0});
        segment(tr("Tables"), QColor(0x8d, 0xb1, 0xf5), {info_.tableBytes / MB, 0});
        quint64 sepTotal = 0;
        for (const WidthInfo& w : info_.widths) {
            segment(tr("%1 model").arg(fmt::width(w.bits)), theme::widthColor(w.bits).lighter(115),
                    {0, w.separateBytes / MB});
            sepTotal += w.separateBytes;
        }
        segment(tr("Unquantized tensors"), QColor(0xa0, 0xa6, 0xb0), {info_.denseBytes / MB, 0});
        segment(tr("KV cache"), QColor(0x3b, 0xa5, 0x5c), {kv, kv});
        segment(tr("Activations"), QColor(0xd9, 0xb5, 0x1c), {act, act});
        const double apTotal = info_.weightBytes() / MB + kv + act;
        const double sepAll = sepTotal / MB + kv + act;
        top = qMax(apTotal, sepAll);
        setNote(tr("Weights: %1 for every width at once, against %2 for separate models (%3\u00d7).")
                    .arg(fmt::bytes(info_.weightBytes()), fmt::bytes(sepTotal))
                    .arg(info_.weightBytes() ? double(sepTotal) / info_.weightBytes() : 0, 0, 'f', 2));
    } else {
        barNames_ = {tr("%1\n(one width)").arg(info_.name)};
        segment(tr("Weights (fp32)"), QColor(0x7a, 0x4c, 0xc9), {info_.weightBytes() / MB});
        segment(tr("KV cache"), QColor(0x3b, 0xa5, 0x5c), {kv});
        segment(tr("Activations"), QColor(0xd9, 0xb5, 0x1c), {act});
        top = info_.weightBytes() / MB + kv + act;
        setNote(tr("A plain model serves one width. Quantize it to any-precision to serve 3..8 bits from one copy."));
    }
    for (int i = 0; i < barNames_.size(); ++i) ticker->addTick(i + 1, barNames_[i]);
    p->xAxis->setTicker(ticker);
    p->xAxis->setRange(0.4, barNames_.size() + 0.6 + (info_.anyPrecision ? 0.9 : 0.6));  // room for the legend
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
