#include "decode_mode_bar.h"

#include "format_util.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QVBoxLayout>

namespace studio {

DecodeModeBar::DecodeModeBar(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("DecodeModeBar"));
    // Controls on one line, the live figures under them: the figures are
    // longer than the room a narrow chat column leaves beside the controls.
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(0, 2, 0, 2);  // it sits inside the precision bar, which has the margins
    v->setSpacing(2);
    auto* h = new QHBoxLayout;
    h->setSpacing(6);
    v->addLayout(h);
    spec_ = new QCheckBox(tr("Speculative"), this);
    spec_->setToolTip(tr("Self-speculative decoding: a narrower width drafts a few tokens, the slider's width "
                         "checks them in one pass. Same weights, no second model; the text follows the "
                         "verifying width. Applies from the next answer."));
    draft_ = new QComboBox(this);
    draft_->setToolTip(tr("Draft width (only widths narrower than the slider's)"));
    draft_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    auto_ = new QCheckBox(tr("Auto width"), this);
    auto_->setToolTip(tr("The engine picks, token by token, the highest width that holds this decode rate on "
                         "this machine; the slider shows the width of the last token. Applies from the next answer."));
    target_ = new QDoubleSpinBox(this);
    target_->setRange(1, 2000);
    target_->setDecimals(0);
    target_->setSingleStep(5);
    target_->setValue(30);
    target_->setSuffix(tr(" tok/s"));
    target_->setToolTip(tr("Decode rate the auto width holds"));
    stats_ = new QLabel(this);
    stats_->setObjectName(QStringLiteral("MessageMeta"));
    // Long figures must not widen the window; the tooltip keeps the full text.
    stats_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    h->addWidget(spec_);
    h->addWidget(draft_);
    h->addSpacing(14);
    h->addWidget(auto_);
    h->addWidget(target_);
    h->addStretch(1);
    v->addWidget(stats_);

    // The engine runs one mode or the other: choosing one clears the other.
    connect(spec_, &QCheckBox::toggled, this, [this](bool on) {
        if (on && auto_->isChecked()) {
            const QSignalBlocker b(auto_);
            auto_->setChecked(false);
        }
        refreshEnabled();
        refreshText();
        emit modeChanged();
    });
    connect(auto_, &QCheckBox::toggled, this, [this](bool on) {
        if (on && spec_->isChecked()) {
            const QSignalBlocker b(spec_);
            spec_->setChecked(false);
        }
        refreshEnabled();
        refreshText();
        emit modeChanged();
    });
    connect(draft_, &QComboBox::activated, this, [this](int i) {
        prefDraft_ = draft_->itemData(i).toInt();  // only a user's pick changes the preference
        refreshText();
        emit modeChanged();
    });
    connect(target_, &QDoubleSpinBox::valueChanged, this, [this] {
        refreshText();
        emit modeChanged();  // also when auto is off: the target is saved for later
    });
    setModel({}, 0);
}

void DecodeModeBar::setModel(const ModelInfo& info, int bits) {
    info_ = info;
    bits_ = bits;
    meter_ = {};
    haveSummary_ = false;
    lastTokenBits_ = 0;
    refill();
    refreshEnabled();
    refreshText();
    emit modeChanged();
}

void DecodeModeBar::setBits(int bits) {
    if (bits == bits_) return;
    const int before = draftBits();
    bits_ = bits;
    refill();
    refreshEnabled();
    refreshText();
    if (draftBits() != before) emit modeChanged();
}

void DecodeModeBar::setChoices(bool speculative, int draftBits, bool autoWidth, double targetTps) {
    {
        const QSignalBlocker a(spec_), b(auto_), c(target_);
        if (draftBits > 0) prefDraft_ = draftBits;
        if (targetTps > 0) target_->setValue(targetTps);
        auto_->setChecked(autoWidth);
        spec_->setChecked(speculative && !autoWidth);
    }
    refill();
    refreshEnabled();
    refreshText();
    emit modeChanged();
}

void DecodeModeBar::setAuto(bool on) { auto_->setChecked(on); }

QList<int> DecodeModeBar::offeredDraftWidths() const {
    QList<int> out;
    for (int i = 0; i < draft_->count(); ++i) out << draft_->itemData(i).toInt();
    return out;
}

void DecodeModeBar::refill() {
    const QSignalBlocker b(draft_);
    draft_->clear();
    if (!info_.anyPrecision) return;
    // A draft only pays off when it reads fewer bytes than the verifier.
    for (int w = info_.seedBits; w < bits_; ++w) draft_->addItem(tr("draft %1").arg(fmt::width(w)), w);
    if (draft_->count() == 0) return;
    // The user's pick when it is offered, else the nearest narrower width that is.
    const int want = qBound(info_.seedBits, prefDraft_, bits_ - 1);
    draft_->setCurrentIndex(draft_->findData(want));
}

void DecodeModeBar::refreshEnabled() {
    const bool ap = info_.anyPrecision;
    spec_->setEnabled(ap);
    auto_->setEnabled(ap);
    draft_->setEnabled(ap && spec_->isChecked() && draft_->count() > 0);
    target_->setEnabled(ap && auto_->isChecked());
}

bool DecodeModeBar::speculativeChosen() const { return spec_->isChecked(); }
bool DecodeModeBar::autoChosen() const { return auto_->isChecked(); }
double DecodeModeBar::targetChosen() const { return target_->value(); }

int DecodeModeBar::draftBits() const {
    if (!info_.anyPrecision || !spec_->isChecked() || draft_->currentIndex() < 0) return 0;
    return draft_->currentData().toInt();
}

double DecodeModeBar::targetTps() const {
    return info_.anyPrecision && auto_->isChecked() ? target_->value() : 0;
}

void DecodeModeBar::addStats(const TokenStats& s) {
    if (s.index == 0) haveSummary_ = false;
    meter_.add(s);
    lastTokenBits_ = s.bits;
    liveTps_ = s.tokensPerSecond;
    // Round ends carry the new figures; in auto mode every token may change the width shown.
    if (s.endsRound() || s.index == 0 || auto_->isChecked()) refreshText();
}

void DecodeModeBar::setSummary(const GenerationSummary& s) {
    summary_ = s;
    haveSummary_ = true;
    refreshText();
}

void DecodeModeBar::refreshText() {
    QString text, tip;
    if (!info_.isValid()) {
        text.clear();
    } else if (!info_.anyPrecision) {
        text = tr("speculative decoding and the auto width need an any-precision model");
    } else if (auto_->isChecked()) {
        const double target = target_->value();
        if (lastTokenBits_ > 0 && liveTps_ > 0)
            text = tr("auto: holding %1 \u00b7 now %2 \u00b7 last token %3")
                       .arg(fmt::tokensPerSecond(target), fmt::tokensPerSecond(liveTps_), fmt::width(lastTokenBits_));
        else
            text = tr("auto: the engine picks each token's width to hold %1").arg(fmt::tokensPerSecond(target));
        if (haveSummary_ && summary_.decodeTokensPerSecond > 0)
            text += tr(" \u00b7 answer %1").arg(fmt::tokensPerSecond(summary_.decodeTokensPerSecond));
    } else if (spec_->isChecked()) {
        if (draftBits() == 0) {
            text = tr("speculation needs a width above %1").arg(fmt::width(info_.seedBits));
        } else if (meter_.rounds() == 0) {
            text = tr("drafts at %1, verifies at %2").arg(fmt::width(draftBits()), fmt::width(bits_));
        } else {
            // The engine's totals once the answer is done; the live sums until then.
            const bool fin = haveSummary_ && summary_.rounds > 0;
            const double acc = fin ? summary_.acceptance() : meter_.acceptance();
            const double perPass = fin ? summary_.tokensPerRound() : meter_.tokensPerPass();
            const int vb = meter_.lastVerifyBits();
            text = tr("accepted %1% \u00b7 %2 tokens/pass").arg(qRound(acc * 100)).arg(perPass, 0, 'f', 1);
            const double up = meter_.speedup(vb);
            if (up > 0)
                text += tr(" \u00b7 %1\u00d7 vs plain %2").arg(up, 0, 'f', 2).arg(fmt::width(vb));
            else
                text += tr(" \u00b7 speed-up: no plain %1 tokens measured yet").arg(fmt::width(vb));
            tip = tr("%1 rounds, %2 of %3 drafts accepted. Speed-up: this answer's speculative rate (%4) over "
                     "the plain %5 rate measured this session (%6).")
                      .arg(fin ? summary_.rounds : meter_.rounds())
                      .arg(fin ? summary_.accepted : meter_.accepted())
                      .arg(fin ? summary_.drafted : meter_.proposed())
                      .arg(fmt::tokensPerSecond(meter_.speculativeTps(vb)), fmt::width(vb),
                           meter_.plainTps(vb) > 0 ? fmt::tokensPerSecond(meter_.plainTps(vb)) : tr("none yet"));
        }
    }
    stats_->setText(text);
    stats_->setToolTip(tip.isEmpty() ? text : tip);
}

}  // namespace studio
