#include "status_panel.h"

#include "format_util.h"

#include <QLabel>
#include <QProgressBar>
#include <QStatusBar>

namespace studio {

StatusPanel::StatusPanel(QStatusBar* bar) : QObject(bar) {
    auto label = [bar](const QString& tip) {
        auto* l = new QLabel(bar);
        l->setToolTip(tip);
        return l;
    };
    model_ = label(tr("Loaded model"));
    device_ = label(tr("Device the engine runs on"));
    width_ = label(tr("Width used for the next token"));
    speed_ = label(tr("Decode speed (recent tokens)"));
    ttft_ = label(tr("Time to first token of the last answer"));
    memory_ = label(tr("Weights resident + KV cache"));
    progress_ = new QProgressBar(bar);
    progress_->setMaximumWidth(220);
    progress_->setRange(0, 1000);
    progress_->setVisible(false);
    bar->addWidget(model_);
    bar->addWidget(progress_);
    bar->addPermanentWidget(device_);
    bar->addPermanentWidget(width_);
    bar->addPermanentWidget(speed_);
    bar->addPermanentWidget(ttft_);
    bar->addPermanentWidget(memory_);
    timer_.setInterval(250);
    connect(&timer_, &QTimer::timeout, this, [this] {
        if (dirty_) repaint();
    });
    timer_.start();
    setModel({});
}

void StatusPanel::setModel(const ModelInfo& info) {
    info_ = info;
    model_->setText(info.isValid() ? tr("Model: %1").arg(info.name) : tr("No model"));
    model_->setToolTip(info.isValid() ? info.path + (info.sourceNote.isEmpty() ? QString() : "\n" + info.sourceNote) : QString());
    device_->setText(info.device);
    speed_->setText(tr("\u2013 tok/s"));
    ttft_->setText(tr("TTFT \u2013"));
    setRuntimeMemory(info.kvBytes, info.activationBytes, info.copyBytes);
    setBits(info.anyPrecision ? info.parentBits : 0);
}

void StatusPanel::setBits(int bits) {
    width_->setText(info_.isValid() ? tr("Width: %1").arg(fmt::width(bits)) : QString());
}

void StatusPanel::setLiveStats(const TokenStats& s) {
    live_ = s;
    dirty_ = true;
}

void StatusPanel::repaint() {
    dirty_ = false;
    if (live_.tokensPerSecond > 0) speed_->setText(fmt::tokensPerSecond(live_.tokensPerSecond));
    ttft_->setText(tr("TTFT %1").arg(fmt::seconds(live_.ttftS)));
}

void StatusPanel::setSummary(const GenerationSummary& s) {
    dirty_ = false;
    if (s.decodeTokensPerSecond > 0) speed_->setText(fmt::tokensPerSecond(s.decodeTokensPerSecond));
    ttft_->setText(tr("TTFT %1").arg(fmt::seconds(s.ttftS)));
    speed_->setToolTip(tr("Decode %1 \u00b7 prompt %2 (%3 prompt tokens)")
                           .arg(fmt::tokensPerSecond(s.decodeTokensPerSecond), fmt::tokensPerSecond(s.promptTokensPerSecond))
                           .arg(s.nPrompt));
    if (s.kvBytes) setRuntimeMemory(s.kvBytes, s.activationBytes, s.copyBytes);
}

void StatusPanel::setRuntimeMemory(quint64 kvBytes, quint64 activationBytes, quint64 copyBytes) {
    if (!info_.isValid()) {
        memory_->clear();
        return;
    }
    memory_->setText(tr("Memory: %1").arg(fmt::bytes(info_.weightBytes() + kvBytes + activationBytes + copyBytes)));
    QString tip = tr("Weights %1 \u00b7 KV cache %2 \u00b7 activations %3")
                      .arg(fmt::bytes(info_.weightBytes()), fmt::bytes(kvBytes), fmt::bytes(activationBytes));
    if (copyBytes) tip += tr(" \u00b7 code copy %1").arg(fmt::bytes(copyBytes));
    memory_->setToolTip(tip);
}

void StatusPanel::setLoading(bool on, double fraction, const QString& what) {
    progress_->setVisible(on);
    progress_->setValue(int(fraction * 1000));
    if (on) {
        progress_->setFormat(tr("%1 %p%").arg(what));
        model_->setText(tr("Loading\u2026"));
    }
}

QString StatusPanel::text() const {
    return QStringList{model_->text(), device_->text(), width_->text(), speed_->text(), ttft_->text(), memory_->text()}.join(" | ");
}

}  // namespace studio
