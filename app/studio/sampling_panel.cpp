#include "sampling_panel.h"

#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace studio {

namespace {
QDoubleSpinBox* dspin(double lo, double hi, double step, int decimals, QWidget* p) {
    auto* s = new QDoubleSpinBox(p);
    s->setRange(lo, hi);
    s->setSingleStep(step);
    s->setDecimals(decimals);
    return s;
}
}  // namespace

SamplingPanel::SamplingPanel(QWidget* parent) : QWidget(parent) {
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(10, 10, 10, 10);

    auto* sysBox = new QGroupBox(tr("System prompt"), this);
    auto* sv = new QVBoxLayout(sysBox);
    system_ = new QPlainTextEdit(sysBox);
    system_->setPlaceholderText(tr("Instructions the model sees before every conversation"));
    system_->setMaximumHeight(90);
    sv->addWidget(system_);
    v->addWidget(sysBox);

    auto* box = new QGroupBox(tr("Sampling"), this);
    auto* f = new QFormLayout(box);
    temperature_ = dspin(0, 2, 0.05, 2, box);
    temperature_->setToolTip(tr("0 = greedy (always the most likely token)"));
    topK_ = new QSpinBox(box);
    topK_->setRange(0, 1000);
    topK_->setSpecialValueText(tr("off"));
    topP_ = dspin(0.01, 1, 0.01, 2, box);
    minP_ = dspin(0, 1, 0.01, 2, box);
    minP_->setSpecialValueText(tr("off"));
    repeat_ = dspin(1, 2, 0.01, 2, box);
    repeat_->setToolTip(tr("1.00 = off"));
    maxTokens_ = new QSpinBox(box);
    maxTokens_->setRange(1, 8192);
    seed_ = new QSpinBox(box);
    seed_->setRange(0, 2147483647);
    f->addRow(tr("Temperature"), temperature_);
    f->addRow(tr("Top-k"), topK_);
    f->addRow(tr("Top-p"), topP_);
    f->addRow(tr("Min-p"), minP_);
    f->addRow(tr("Repetition penalty"), repeat_);
    f->addRow(tr("Max tokens"), maxTokens_);
    f->addRow(tr("Seed"), seed_);
    auto* reset = new QPushButton(tr("Defaults"), box);
    f->addRow(QString(), reset);
    v->addWidget(box);
    auto* note = new QLabel(tr("The same seed gives the same answer at the same width, so widths can be compared fairly."), this);
    note->setWordWrap(true);
    note->setObjectName(QStringLiteral("MessageMeta"));
    v->addWidget(note);
    v->addStretch(1);

    auto changed = [this] {
        if (!loading_) emit samplingChanged(sampling());
    };
    for (auto* s : {temperature_, topP_, minP_, repeat_})
        connect(s, &QDoubleSpinBox::valueChanged, this, changed);
    for (auto* s : {topK_, maxTokens_, seed_}) connect(s, &QSpinBox::valueChanged, this, changed);
    connect(system_, &QPlainTextEdit::textChanged, this, [this] {
        if (!loading_) emit systemPromptChanged(systemPrompt());
    });
    connect(reset, &QPushButton::clicked, this, [this] {
        setSampling(SamplingSettings{});
        emit samplingChanged(sampling());
    });
    setSampling(SamplingSettings{});
}

void SamplingPanel::setSampling(const SamplingSettings& s) {
    loading_ = true;
    temperature_->setValue(s.temperature);
    topK_->setValue(s.topK);
    topP_->setValue(s.topP);
    minP_->setValue(s.minP);
    repeat_->setValue(s.repeatPenalty);
    maxTokens_->setValue(s.maxTokens);
    seed_->setValue(int(qMin<quint64>(s.seed, 2147483647)));
    loading_ = false;
}

SamplingSettings SamplingPanel::sampling() const {
    SamplingSettings s;
    s.temperature = temperature_->value();
    s.topK = topK_->value();
    s.topP = topP_->value();
    s.minP = minP_->value();
    s.repeatPenalty = repeat_->value();
    s.maxTokens = maxTokens_->value();
    s.seed = quint64(seed_->value());
    return s;
}

void SamplingPanel::setSystemPrompt(const QString& p) {
    loading_ = true;
    system_->setPlainText(p);
    loading_ = false;
}

QString SamplingPanel::systemPrompt() const { return system_->toPlainText(); }

}  // namespace studio
