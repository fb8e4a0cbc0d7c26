#include "acceptance_plot.h"

#include "theme.h"

#include <qcustomplot.h>

namespace studio {

AcceptancePlot::AcceptancePlot(QWidget* parent) : PlotCard(tr("Speculative rounds"), parent) {
    plot()->xAxis->setLabel(tr("token of the answer"));
    plot()->yAxis->setLabel(tr("drafts per round"));
    // Whole drafts only: integer ticks on the count axis.
    QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
    ticker->setTickStep(1);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    plot()->yAxis->setTicker(ticker);
    proposed_ = plot()->addGraph();
    QPen dashed(QColor(0x9a, 0xa3, 0xb2), 1.5, Qt::DashLine);
    proposed_->setPen(dashed);
    proposed_->setLineStyle(QCPGraph::lsStepLeft);
    proposed_->setName(tr("proposed"));
    accepted_ = plot()->addGraph();
    const QColor c = theme::accent();
    accepted_->setPen(QPen(c, 2));
    accepted_->setBrush(QColor(c.red(), c.green(), c.blue(), 40));
    accepted_->setLineStyle(QCPGraph::lsStepLeft);
    accepted_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, c, c, 5));
    accepted_->setName(tr("accepted"));
    plot()->legend->setVisible(true);
    plot()->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);  // rounds tend to lengthen: the top left stays clear
    clear();
}

void AcceptancePlot::addStats(const TokenStats& s) {
    if (s.index == 0) newAnswer_ = true;
    if (!s.endsRound()) return;
    if (newAnswer_) {  // the first round of a new answer: the plot is now about this one
        clear();
        newAnswer_ = false;
    }
    const double x = s.index;
    accepted_->addData(x, s.roundAccepted);
    proposed_->addData(x, s.roundProposed);
    roundBits_ << s.bits;
    maxY_ = qMax(maxY_, s.roundProposed + 1);
    maxX_ = qMax(maxX_, x);
    plot()->yAxis->setRange(0, maxY_);
    plot()->xAxis->setRange(0, qMax(20.0, maxX_ + 2));
    refreshNote();
    plot()->replot(QCustomPlot::rpQueuedReplot);  // coalesced: one replot per frame
}

void AcceptancePlot::clear() {
    accepted_->data()->clear();
    proposed_->data()->clear();
    roundBits_.clear();
    maxY_ = 4;
    maxX_ = 0;
    plot()->xAxis->setRange(0, 20);
    plot()->yAxis->setRange(0, maxY_);
    refreshNote();
    plot()->replot(QCustomPlot::rpQueuedReplot);
}

int AcceptancePlot::roundCount() const { return accepted_->data()->size(); }

int AcceptancePlot::acceptedAt(int round) const {
    return round >= 0 && round < roundCount() ? int(accepted_->data()->at(round)->value) : -1;
}

int AcceptancePlot::proposedAt(int round) const {
    return round >= 0 && round < roundCount() ? int(proposed_->data()->at(round)->value) : -1;
}

void AcceptancePlot::refreshNote() {
    const int n = roundCount();
    if (n == 0) {
        setNote(tr("Turn on \u201cSpeculative\u201d under the precision slider: each round drafts a few tokens at a "
                   "narrower width and the slider's width checks them in one pass."));
        return;
    }
    int acc = 0, prop = 0;
    for (int i = 0; i < n; ++i) {
        acc += acceptedAt(i);
        prop += proposedAt(i);
    }
    setNote(tr("%1 rounds \u00b7 %2 of %3 drafts accepted (%4%) \u00b7 %5 tokens per verify pass")
                .arg(n)
                .arg(acc)
                .arg(prop)
                .arg(prop ? qRound(100.0 * acc / prop) : 0)
                .arg(double(acc + n) / n, 0, 'f', 1));
}

QString AcceptancePlot::csv() const {
    QString out = QStringLiteral("round,token_index,verify_bits,proposed,accepted\n");
    for (int i = 0; i < roundCount(); ++i)
        out += QStringLiteral("%1,%2,%3,%4,%5\n")
                   .arg(i + 1)
                   .arg(int(accepted_->data()->at(i)->key))
                   .arg(roundBits_.value(i))
                   .arg(proposedAt(i))
                   .arg(acceptedAt(i));
    return out;
}

}  // namespace studio
