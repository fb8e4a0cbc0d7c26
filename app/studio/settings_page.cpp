#include "settings_page.h"

#include "format_util.h"
#include "sampling_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QThread>
#include <QVBoxLayout>

namespace studio {

SettingsPage::SettingsPage(QWidget* parent) : QScrollArea(parent) {
    setWidgetResizable(true);
    setFrameShape(QFrame::NoFrame);
    auto* content = new QWidget(this);
    auto* v = new QVBoxLayout(content);
    v->setContentsMargins(10, 0, 10, 10);
    sampling_ = new SamplingPanel(content);
    sampling_->layout()->setContentsMargins(0, 10, 0, 0);  // the page's margins, not two sets
    v->addWidget(sampling_);

    auto* engine = new QGroupBox(tr("Engine"), content);
    auto* f = new QFormLayout(engine);
    threads_ = new QSpinBox(engine);
    threads_->setRange(0, 256);
    threads_->setSpecialValueText(tr("all cores (%1)").arg(QThread::idealThreadCount()));
    threads_->setToolTip(tr("Threads for prompts and decoding; fewer leave cores to other programs"));
    ctx_ = new QSpinBox(engine);
    ctx_->setRange(256, 1 << 20);
    ctx_->setSingleStep(512);
    ctx_->setSuffix(tr(" tokens"));
    ctx_->setToolTip(tr("How much of the conversation the model sees; the KV cache is allocated for this length"));
    reuseKv_ = new QCheckBox(tr("Keep the conversation in the KV cache between turns"), engine);
    reuseKv_->setToolTip(tr("On: a follow-up reads only the new message (fast). Off: every turn reads the whole "
                            "conversation again, from an empty cache."));
    kvInt8_ = new QCheckBox(tr("Store the KV cache in 8 bits"), engine);
    kvInt8_->setToolTip(tr("Half the cache's memory and half the bytes read per token at long contexts, "
                           "for a small rounding of what the model remembers"));
    codeCopy_ = new QComboBox(engine);
    codeCopy_->addItem(tr("Automatic: where it fits and times faster"), int(CodeCopy::Auto));
    codeCopy_->addItem(tr("Always"), int(CodeCopy::Always));
    codeCopy_->addItem(tr("Never"), int(CodeCopy::Never));
    codeCopy_->setToolTip(tr("Keep the active width's codes unpacked beside the model, rebuilt when the width "
                             "changes: at 7\u20138 bits as bytes (one per weight; from 6 bits with AVX-VNNI), at 3\u20136 "
                             "bits as indices (as many bits per weight as the width). Decoding then skips (most of) the bitplane "
                             "transpose and, from 7 bits, the table lookups: 1.2\u20134x faster on CPUs without AVX-512, same "
                             "results. AVX-512 CPUs keep one at 8 bits only."));
    apply_ = new QPushButton(tr("Apply"), engine);
    apply_->setObjectName(QStringLiteral("Primary"));
    engineNote_ = new QLabel(engine);
    engineNote_->setObjectName(QStringLiteral("MessageMeta"));
    engineNote_->setWordWrap(true);
    f->addRow(tr("Threads"), threads_);
    f->addRow(tr("Context length"), ctx_);
    f->addRow(QString(), reuseKv_);
    f->addRow(QString(), kvInt8_);
    f->addRow(tr("Code copy"), codeCopy_);
    f->addRow(QString(), apply_);
    f->addRow(engineNote_);
    v->addWidget(engine);

    auto* look = new QGroupBox(tr("Appearance"), content);
    auto* lf = new QFormLayout(look);
    theme_ = new QComboBox(look);
    theme_->addItem(tr("Follow the system"), int(theme::Mode::System));
    theme_->addItem(tr("Light"), int(theme::Mode::Light));
    theme_->addItem(tr("Dark"), int(theme::Mode::Dark));
    lf->addRow(tr("Theme"), theme_);
    v->addWidget(look);
    v->addStretch(1);
    setWidget(content);

    for (QSpinBox* s : {threads_, ctx_}) connect(s, &QSpinBox::valueChanged, this, &SettingsPage::updateApply);
    for (QCheckBox* b : {reuseKv_, kvInt8_}) connect(b, &QCheckBox::toggled, this, &SettingsPage::updateApply);
    connect(codeCopy_, &QComboBox::currentIndexChanged, this, &SettingsPage::updateApply);
    connect(apply_, &QPushButton::clicked, this, [this] {
        applied_ = runtime();
        updateApply();
        emit runtimeRequested(applied_);
    });
    connect(theme_, &QComboBox::activated, this, [this] {
        emit themeRequested(theme::Mode(theme_->currentData().toInt()));
    });
    updateApply();
}

void SettingsPage::setRuntime(const RuntimeSettings& r) {
    applied_ = r;
    const QSignalBlocker a(threads_), b(ctx_), c(reuseKv_), d(kvInt8_), e(codeCopy_);
    threads_->setValue(r.threads);
    ctx_->setValue(r.nCtx);
    reuseKv_->setChecked(r.reuseKv);
    kvInt8_->setChecked(r.kvInt8);
    codeCopy_->setCurrentIndex(codeCopy_->findData(int(r.codeCopy)));
    updateApply();
}

RuntimeSettings SettingsPage::runtime() const {
    RuntimeSettings r;
    r.threads = threads_->value();
    r.nCtx = ctx_->value();
    r.reuseKv = reuseKv_->isChecked();
    r.kvInt8 = kvInt8_->isChecked();
    r.codeCopy = CodeCopy(codeCopy_->currentData().toInt());
    return r;
}

void SettingsPage::setModel(const ModelInfo& info) {
    info_ = info;
    updateApply();
}

void SettingsPage::setThemeMode(theme::Mode m) {
    const QSignalBlocker b(theme_);
    theme_->setCurrentIndex(theme_->findData(int(m)));
}

void SettingsPage::updateApply() {
    apply_->setEnabled(!(runtime() == applied_));
    QString note = tr("Applied at once to the loaded model: no restart, no reload.");
    if (info_.isValid()) {
        note += ' ' + tr("Now: %1 threads, context %2 tokens (this model was trained for %3), KV cache %4.")
                          .arg(info_.threads)
                          .arg(info_.nCtx)
                          .arg(info_.nCtxTrain)
                          .arg(fmt::bytes(info_.kvBytes));
        // What Automatic decided (copies of the largest matrices only where all would not fit; none
        // where not even one fits or the kernels read none).
        if (info_.copyFrom > 0 && info_.copyShare < 1)
            note += ' ' + tr("Code copy from %1 bits for the largest matrices (%2% of the weights: all would not fit in a quarter of the memory), up to %3.")
                              .arg(info_.copyFrom)
                              .arg(qRound(100 * info_.copyShare))
                              .arg(fmt::bytes(info_.copyMaxBytes));
        else if (info_.copyFrom > 0)
            note += ' ' + tr("Code copy from %1 bits, up to %2.").arg(info_.copyFrom).arg(fmt::bytes(info_.copyMaxBytes));
        else
            note += ' ' + tr("No code copy.");
        if (ctx_->value() > info_.nCtxTrain && info_.nCtxTrain > 0)
            note += ' ' + tr("Longer than that is cut to %1.").arg(info_.nCtxTrain);
    }
    engineNote_->setText(note);
}

QString SettingsPage::engineNote() const { return engineNote_->text(); }

}  // namespace studio
