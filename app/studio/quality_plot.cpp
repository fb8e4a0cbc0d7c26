#include "quality_plot.h"

#include "format_util.h"
#include "theme.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QHBoxLayout>
#include <QPushButton>

namespace studio {

QualityPlot::QualityPlot(QWidget* parent) : PlotCard(tr("Quality"), parent) {
    scatterToggle_ = new QCheckBox(tr("Speed vs quality"), this);
    scatterToggle_->setToolTip(tr("Tokens/s (measured while chatting) against perplexity, one point per width"));
    toolbar()->insertWidget(1, scatterToggle_);
    connect(scatterToggle_, &QCheckBox::toggled, this, [this] { rebuild(); });
    measureSpeed_ = new QPushButton(this);
    measureSpeed_->setObjectName(QStringLiteral("Primary"));
    measureSpeed_->setVisible(false);
    toolbar()->insertWidget(2, measureSpeed_);
    connect(measureSpeed_, &QPushButton::clicked, this, [this] {
        const QList<int> w = widthsWithoutSpeed();
        if (!w.isEmpty()) emit speedMeasureRequested(w);
    });
    rebuild();
}

void QualityPlot::setPerplexity(int bits, double ppl) {
    ppl_[bits] = ppl;
    rebuild();
}

void QualityPlot::clearPerplexity() {
    ppl_.clear();
    rebuild();
}

void QualityPlot::setSpeeds(const QMap<int, double>& s) {
    if (s == speed_) return;
    speed_ = s;
    if (scatterVisible()) rebuild();
}

void QualityPlot::setScatterVisible(bool on) { scatterToggle_->setChecked(on); }
bool QualityPlot::scatterVisible() const { return scatterToggle_->isChecked(); }
int QualityPlot::scatterPointCount() const { return scatterPoints_; }

QList<int> QualityPlot::widthsWithoutSpeed() const {
    QList<int> out;
    for (auto it = ppl_.begin(); it != ppl_.end(); ++it)
        if (it.key() >= 0 && !speed_.contains(it.key())) out << it.key();  // the source model is not served
    return out;
}

void QualityPlot::rebuild() {
    QCustomPlot* p = plot();
    p->clearPlottables();
    p->clearItems();
    p->legend->setVisible(false);
    scatterPoints_ = 0;
    if (!scatterVisible()) {
        // Bars: one per width, coloured like everywhere else, value printed on top.
        QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
        p->xAxis->setLabel(QString());
        p->yAxis->setLabel(tr("perplexity (lower is better)"));
        int i = 0;
        double top = 0;
        for (auto it = ppl_.begin(); it != ppl_.end(); ++it, ++i) {
            auto* bars = new QCPBars(p->xAxis, p->yAxis);
            const QColor c = theme::widthColor(it.key());
            bars->setBrush(c);
            bars->setPen(QPen(c.darker(115)));
            bars->setWidth(0.6);
            bars->addData(i + 1, it.value());
            ticker->addTick(i + 1, fmt::width(it.key()));
            auto* label = new QCPItemText(p);
            label->position->setCoords(i + 1, it.value());
            label->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
            label->setText(QString::number(it.value(), 'f', 2));
            label->setColor(theme::plotText());
            top = qMax(top, it.value());
        }
        p->xAxis->setTicker(ticker);
        p->xAxis->setRange(0.4, qMax(1, i) + 0.6);
        p->yAxis->setRange(0, top > 0 ? top * 1.15 : 10);
        setNote(ppl_.isEmpty() ? tr("Press Measure to compute perplexity at every width.") : sourceNote_);
    } else {
        p->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        p->xAxis->setLabel(tr("perplexity (lower is better)"));
        p->yAxis->setLabel(tr("tokens/s"));
        double minX = 1e9, maxX = 0, maxY = 0;
        for (auto it = ppl_.begin(); it != ppl_.end(); ++it) {
            if (!speed_.contains(it.key())) continue;
            auto* g = p->addGraph();
            const QColor c = theme::widthColor(it.key());
            g->setLineStyle(QCPGraph::lsNone);
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, c, c, 11));
            g->setName(fmt::width(it.key()));
            g->addData(it.value(), speed_.value(it.key()));
            auto* label = new QCPItemText(p);
            label->position->setCoords(it.value(), speed_.value(it.key()));
            label->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
            label->setPadding(QMargins(8, 0, 0, 6));
            label->setText(fmt::width(it.key()));
            label->setColor(theme::plotText());
            minX = qMin(minX, it.value());
            maxX = qMax(maxX, it.value());
            maxY = qMax(maxY, speed_.value(it.key()));
            ++scatterPoints_;
        }
        const double pad = qMax(0.5, (maxX - minX) * 0.15);
        p->xAxis->setRange(scatterPoints_ ? minX - pad : 0, scatterPoints_ ? maxX + pad * 1.5 : 10);
        p->yAxis->setRange(0, maxY > 0 ? maxY * 1.2 : 10);
        const QList<int> missing = widthsWithoutSpeed();
        QString note = scatterPoints_ ? tr("Up and to the left is better: faster and closer to the source.")
                                      : tr("Needs perplexity and measured speed at the same widths.");
        if (ppl_.isEmpty()) note += ' ' + tr("Press Measure first.");
        else if (!missing.isEmpty())
            note += ' ' + tr("No speed yet at %1: chat or compare at those widths, or press \u201cMeasure speed\u201d "
                             "(a short answer at each).").arg(fmt::widthList(missing));
        setNote(note);
    }
    const QList<int> missing = widthsWithoutSpeed();
    measureSpeed_->setVisible(scatterVisible() && !missing.isEmpty());
    measureSpeed_->setText(missing.size() == 1 ? tr("Measure speed (1 width)") : tr("Measure speed (%1 widths)").arg(missing.size()));
    p->replot(QCustomPlot::rpQueuedReplot);
}

QString QualityPlot::csv() const {
    // The source model is stored under a negative width; it reads "source" here, not -1.
    QString out = QStringLiteral("bits,perplexity,tokens_per_s\n");
    for (auto it = ppl_.begin(); it != ppl_.end(); ++it)
        out += QStringLiteral("%1,%2,%3\n")
                   .arg(it.key() < 0 ? QStringLiteral("source") : QString::number(it.key()))
                   .arg(it.value(), 0, 'f', 4)
                   .arg(speed_.contains(it.key()) ? QString::number(speed_.value(it.key()), 'f', 3) : QString());
    return out;
}

}  // namespace studio
