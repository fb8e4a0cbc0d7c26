#include "comparison_view.h"

#include "chat_input.h"
#include "compare_column.h"
#include "format_util.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

namespace studio {

ComparisonView::ComparisonView(EngineController* engine, QWidget* parent) : QWidget(parent), engine_(engine) {
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(14, 12, 14, 12);
    auto* top = new QHBoxLayout;
    auto* title = new QLabel(tr("Widths (bits)"), this);
    title->setObjectName(QStringLiteral("PrecisionTitle"));
    top->addWidget(title);
    boxRow_ = new QHBoxLayout;
    top->addLayout(boxRow_);
    top->addStretch(1);
    v->addLayout(top);
    // The hint has its own wrapped line: beside the check boxes it squeezed
    // them unreadable in a narrow window.
    hint_ = new QLabel(this);
    hint_->setObjectName(QStringLiteral("MessageMeta"));
    hint_->setWordWrap(true);
    hint_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    v->addWidget(hint_);

    auto* inputFrame = new QFrame(this);
    inputFrame->setObjectName(QStringLiteral("InputFrame"));
    auto* ih = new QHBoxLayout(inputFrame);
    ih->setContentsMargins(8, 4, 6, 4);
    prompt_ = new ChatInput(inputFrame);
    prompt_->setPlaceholderText(tr("One prompt for every selected width \u2014 Enter to run"));
    run_ = new QPushButton(tr("Compare"), inputFrame);
    run_->setObjectName(QStringLiteral("Primary"));
    stop_ = new QPushButton(tr("Stop"), inputFrame);
    stop_->setObjectName(QStringLiteral("Danger"));
    stop_->setVisible(false);
    ih->addWidget(prompt_, 1);
    ih->addWidget(run_, 0, Qt::AlignBottom);
    ih->addWidget(stop_, 0, Qt::AlignBottom);
    v->addWidget(inputFrame);

    columnRow_ = new QHBoxLayout;
    columnRow_->setSpacing(10);
    v->addLayout(columnRow_, 1);

    flush_.setInterval(33);
    connect(&flush_, &QTimer::timeout, this, &ComparisonView::flush);
    connect(prompt_, &ChatInput::submitted, this, &ComparisonView::run);
    connect(run_, &QPushButton::clicked, this, &ComparisonView::run);
    connect(stop_, &QPushButton::clicked, this, &ComparisonView::stop);
    connect(engine_, &EngineController::modelChanged, this, &ComparisonView::onModel);
    connect(engine_, &EngineController::compareToken, this,
            [this](quint64 id, int col, const QString& piece, const TokenStats& s) {
                if (id != activeId_ || col >= columns_.size()) return;
                pending_[col] += piece;
                columns_[col]->setLiveStats(s);
            });
    connect(engine_, &EngineController::compareColumnFinished, this,
            [this](quint64 id, int col, const GenerationSummary& s) {
                if (id != activeId_ || col >= columns_.size()) return;
                flush();
                columns_[col]->setFinished(s);
            });
    connect(engine_, &EngineController::compareFinished, this, [this](quint64 id, const QString& err) {
        if (id != activeId_) return;
        flush();
        flush_.stop();
        activeId_ = 0;
        if (!err.isEmpty()) hint_->setText(err);
        updateState();
        emit runningChanged(false);
    });
    onModel(engine_->model());
}

void ComparisonView::onModel(const ModelInfo& info) {
    const QList<int> keep = selectedWidths();
    qDeleteAll(boxes_);
    boxes_.clear();
    for (const WidthInfo& w : info.widths) {
        if (!info.anyPrecision) break;
        // Just the number: six "N-bit" labels made the tab too wide for a 1024 px window.
        auto* b = new QCheckBox(QString::number(w.bits), this);
        b->setToolTip(tr("Compare the %1 answer").arg(fmt::width(w.bits)));
        boxRow_->addWidget(b);
        boxes_.insert(w.bits, b);
        connect(b, &QCheckBox::toggled, this, [this] {
            updateState();
            emit selectionChanged(selectedWidths());
        });
    }
    setSelectedWidths(keep.isEmpty() ? QList<int>{info.seedBits, info.parentBits} : keep);
    updateState();
}

void ComparisonView::setSelectedWidths(const QList<int>& widths) {
    for (auto it = boxes_.begin(); it != boxes_.end(); ++it) {
        const QSignalBlocker b(it.value());
        it.value()->setChecked(widths.contains(it.key()));
    }
    updateState();
}

QList<int> ComparisonView::selectedWidths() const {
    QList<int> out;
    for (auto it = boxes_.begin(); it != boxes_.end(); ++it)
        if (it.value()->isChecked()) out << it.key();
    return out;
}

void ComparisonView::setPrompt(const QString& text) { prompt_->setPlainText(text); }

void ComparisonView::updateState() {
    const int n = int(selectedWidths().size());
    const bool ok = n >= kMinWidths && n <= kMaxWidths;
    if (!engine_->model().anyPrecision)
        hint_->setText(engine_->model().isValid() ? tr("Comparison needs an any-precision model (File \u2192 Quantize\u2026)")
                                                  : tr("No model loaded"));
    else if (!isRunning())
        hint_->setText(ok ? tr("Same seed (%1) for every column").arg(sampling_.seed)
                          : tr("Pick %1 to %2 widths").arg(kMinWidths).arg(kMaxWidths));
    run_->setEnabled(ok && !isRunning() && engine_->model().anyPrecision);
    run_->setVisible(!isRunning());
    stop_->setVisible(isRunning());
}

bool ComparisonView::run() {
    const QList<int> widths = selectedWidths();
    const QString text = prompt_->toPlainText().trimmed();
    if (isRunning() || widths.size() < kMinWidths || widths.size() > kMaxWidths || text.isEmpty() ||
        !engine_->model().anyPrecision)
        return false;
    qDeleteAll(columns_);
    columns_.clear();
    pending_.clear();
    for (int b : widths) {
        auto* c = new CompareColumn(b, this);
        columns_.append(c);
        columnRow_->addWidget(c, 1);
    }
    QList<ChatTurn> turns;
    if (!systemPrompt_.trimmed().isEmpty()) turns.append({QStringLiteral("system"), systemPrompt_});
    turns.append({QStringLiteral("user"), text});
    activeId_ = engine_->compare(turns, sampling_, widths);
    flush_.start();
    updateState();
    hint_->setText(tr("Interleaving %1 widths token by token").arg(widths.size()));
    emit runningChanged(true);
    return true;
}

void ComparisonView::stop() {
    if (isRunning()) engine_->stopCompare();
}

void ComparisonView::flush() {
    for (auto it = pending_.begin(); it != pending_.end(); ++it)
        if (it.key() < columns_.size()) columns_[it.key()]->appendText(it.value());
    pending_.clear();
}

}  // namespace studio
