#include "quality_panel.h"

#include "format_util.h"
#include "quality_plot.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace studio {

QualityPanel::QualityPanel(EngineController* engine, PerplexityCache* cache, QWidget* parent)
    : QWidget(parent), engine_(engine), cache_(cache) {
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(0, 0, 0, 0);
    auto* row = new QHBoxLayout;
    row->setContentsMargins(8, 8, 8, 0);
    auto* row2 = new QHBoxLayout;
    row2->setContentsMargins(8, 0, 8, 0);
    text_ = new QLineEdit(this);
    text_->setPlaceholderText(tr("evaluation text (.txt)"));
    auto* browse = new QPushButton(tr("Text\u2026"), this);
    windows_ = new QSpinBox(this);
    windows_->setRange(0, 10000);
    windows_->setValue(8);
    windows_->setSpecialValueText(tr("all"));
    windows_->setSuffix(tr(" \u00d7 512 tok"));
    windows_->setToolTip(tr("Windows of 512 tokens to score (0 = the whole text)"));
    measure_ = new QPushButton(tr("Measure"), this);
    measure_->setObjectName(QStringLiteral("Primary"));
    cancel_ = new QPushButton(tr("Cancel"), this);
    cancel_->setVisible(false);
    row->addWidget(text_, 1);
    row->addWidget(browse);
    row2->addWidget(windows_);
    row2->addStretch(1);
    row2->addWidget(measure_);
    row2->addWidget(cancel_);
    v->addLayout(row);
    v->addLayout(row2);
    progress_ = new QProgressBar(this);
    progress_->setVisible(false);
    progress_->setRange(0, 1000);
    auto* pr = new QHBoxLayout;
    pr->setContentsMargins(8, 0, 8, 0);
    pr->addWidget(progress_);
    v->addLayout(pr);
    plot_ = new QualityPlot(this);
    v->addWidget(plot_, 1);

    connect(browse, &QPushButton::clicked, this, [this] {
        const QString p = QFileDialog::getOpenFileName(this, tr("Evaluation text"), QFileInfo(textPath()).path(),
                                                       tr("Text (*.txt);;All files (*)"));
        if (!p.isEmpty()) setTextPath(p);
    });
    connect(text_, &QLineEdit::editingFinished, this, [this] {
        emit textPathChanged(textPath());
        showCached();
    });
    connect(windows_, &QSpinBox::valueChanged, this, [this] { showCached(); });
    connect(measure_, &QPushButton::clicked, this, &QualityPanel::measure);
    connect(cancel_, &QPushButton::clicked, engine_, &EngineController::cancelPerplexity);
    connect(engine_, &EngineController::modelChanged, this, &QualityPanel::onModel);
    // The engine scores one window at a time and answers a chat turn between
    // two windows: say so instead of leaving the bar standing still.
    connect(engine_, &EngineController::busyChanged, this, [this](bool chatting) {
        if (isMeasuring() && chatting) progress_->setFormat(tr("paused while the chat answers \u2014 %p%"));
    });
    connect(plot_, &QualityPlot::speedMeasureRequested, this, &QualityPanel::measureSpeed);
    connect(engine_, &EngineController::compareFinished, this, [this](quint64 id, const QString& err) {
        if (id != speedId_) return;
        speedId_ = 0;
        plot_->measureSpeedButton()->setEnabled(true);
        if (!err.isEmpty()) plot_->setNote(tr("Speed measurement: %1").arg(err));
    });
    connect(engine_, &EngineController::perplexityProgress, this, [this](quint64 id, int bits, double f) {
        if (id != activeId_) return;
        const int idx = qMax(0, int(pending_.indexOf(bits)));
        progress_->setValue(int(1000 * (idx + f) / qMax(1, int(pending_.size()))));
        progress_->setFormat(tr("%1: %p%").arg(fmt::width(bits)));
    });
    connect(engine_, &EngineController::perplexityReady, this, [this](quint64 id, int bits, double ppl, qint64 n) {
        if (id != activeId_) return;
        cache_->put(activeKey_, bits, {ppl, n});
        plot_->setPerplexity(bits, ppl);
    });
    connect(engine_, &EngineController::perplexityFinished, this, [this](quint64 id, const QString& err) {
        if (id != activeId_) return;
        activeId_ = 0;
        progress_->setVisible(false);
        cancel_->setVisible(false);
        measure_->setEnabled(true);
        if (!err.isEmpty()) plot_->setNote(tr("Perplexity: %1").arg(err));
    });
    setTextPath(QString());
}

void QualityPanel::setTextPath(const QString& p) {
    text_->setText(p);
    emit textPathChanged(p);
    showCached();
}

QString QualityPanel::textPath() const { return text_->text().trimmed(); }

void QualityPanel::setWindows(int n) { windows_->setValue(n); }

QString QualityPanel::cacheKey() const {
    return PerplexityCache::key(engine_->model().path, textPath(), windows_->value());
}

void QualityPanel::onModel(const ModelInfo&) { showCached(); }

void QualityPanel::showCached() {
    const ModelInfo& info = engine_->model();
    QString note = windows_->value() > 0
                       ? tr("Scored on %1 windows of 512 tokens of %2.").arg(windows_->value()).arg(QFileInfo(textPath()).fileName())
                       : tr("Scored on all of %1 in windows of 512 tokens.").arg(QFileInfo(textPath()).fileName());
    if (!info.sourceNote.isEmpty()) note += ' ' + tr("Model: %1.").arg(info.sourceNote);
    plot_->setSourceNote(note);
    plot_->clearPerplexity();
    if (!engine_->model().isValid()) return;
    const auto cached = cache_->get(cacheKey());
    for (auto it = cached.begin(); it != cached.end(); ++it) plot_->setPerplexity(it.key(), it.value().ppl);
}

QString QualityPanel::progressText() const { return progress_->isHidden() ? QString() : progress_->text(); }

void QualityPanel::measureSpeed(const QList<int>& widths) {
    if (widths.isEmpty() || speedId_ != 0 || !engine_->model().isValid()) return;
    SamplingSettings s;  // defaults and a fixed seed: the same short answer at every width
    s.maxTokens = 48;
    const QList<ChatTurn> turns{{QStringLiteral("user"), QStringLiteral("Describe the sea in a short paragraph.")}};
    speedId_ = engine_->compare(turns, s, widths);
    plot_->measureSpeedButton()->setEnabled(false);
    plot_->setNote(tr("Measuring decode speed at %1 (48 tokens each)\u2026").arg(fmt::widthList(widths)));
}

void QualityPanel::measure() {
    const ModelInfo& m = engine_->model();
    if (!m.isValid() || isMeasuring()) return;
    if (!QFileInfo(textPath()).isFile()) {
        plot_->setNote(tr("Pick an evaluation text first: %1 does not exist.").arg(textPath()));
        return;
    }
    activeKey_ = cacheKey();
    const auto cached = cache_->get(activeKey_);
    QList<int> todo;
    for (const WidthInfo& w : m.widths)
        if (!cached.contains(w.bits)) todo << w.bits;
    const bool source = m.anyPrecision && QFileInfo::exists(m.sourcePath) && !cached.contains(-1);
    if (todo.isEmpty() && !source) {
        showCached();
        return;
    }
    pending_ = todo;
    if (source) pending_.prepend(-1);
    plot_->setNote(QString());  // a note of the last run ("cancelled", an error) is stale now
    activeId_ = engine_->computePerplexity(textPath(), todo, source, windows_->value());
    progress_->setValue(0);
    progress_->setVisible(true);
    cancel_->setVisible(true);
    measure_->setEnabled(false);
}

}  // namespace studio
