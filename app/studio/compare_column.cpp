#include "compare_column.h"

#include "format_util.h"
#include "theme.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QVBoxLayout>

namespace studio {

CompareColumn::CompareColumn(int bits, QWidget* parent) : QFrame(parent), bits_(bits) {
    setObjectName(QStringLiteral("CompareColumn"));
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(12, 10, 12, 10);
    auto* head = new QHBoxLayout;
    auto* badge = new QLabel(fmt::width(bits), this);
    badge->setObjectName(QStringLiteral("WidthBadge"));
    badge->setStyleSheet(QStringLiteral("background:%1;").arg(theme::widthColor(bits).name()));
    head->addWidget(badge);
    head->addStretch(1);
    v->addLayout(head);
    body_ = new QPlainTextEdit(this);
    body_->setReadOnly(true);
    body_->setFrameShape(QFrame::NoFrame);
    body_->setMinimumWidth(60);
    v->addWidget(body_, 1);
    stats_ = new QLabel(tr("waiting\u2026"), this);
    stats_->setObjectName(QStringLiteral("MessageMeta"));
    // Wrapped, so the finished line ("tok/s · tokens · time · first token")
    // never sets the column's minimum width: 3-4 columns of it made the
    // window grow wider than the screen.
    stats_->setWordWrap(true);
    stats_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    stats_->setMinimumWidth(0);
    v->addWidget(stats_);
}

void CompareColumn::appendText(const QString& text) {
    if (text.isEmpty()) return;
    // insertPlainText at the end: incremental layout, no full re-set of the document.
    QTextCursor c(body_->document());
    c.movePosition(QTextCursor::End);
    c.insertText(text);
    body_->verticalScrollBar()->setValue(body_->verticalScrollBar()->maximum());
}

QString CompareColumn::text() const { return body_->toPlainText(); }

void CompareColumn::setLiveStats(const TokenStats& s) {
    tokens_ = s.index + 1;
    stats_->setText(tr("%1 \u00b7 %2 tokens \u00b7 %3").arg(fmt::tokensPerSecond(s.tokensPerSecond)).arg(tokens_).arg(
        fmt::seconds(s.elapsedS)));
}

void CompareColumn::setFinished(const GenerationSummary& s) {
    tokens_ = s.nGenerated;
    stats_->setText(tr("%1 \u00b7 %2 tokens \u00b7 %3 \u00b7 first token %4%5")
                        .arg(fmt::tokensPerSecond(s.decodeTokensPerSecond))
                        .arg(s.nGenerated)
                        .arg(fmt::seconds(s.totalS), fmt::seconds(s.ttftS),
                             s.reason == StopReason::Cancelled ? tr(" \u00b7 stopped") : QString()));
}

}  // namespace studio
