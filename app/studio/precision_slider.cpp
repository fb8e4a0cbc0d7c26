#include "precision_slider.h"

#include "format_util.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QStyle>
#include <QStyleOptionSlider>
#include <QVBoxLayout>

namespace studio {

PrecisionSlider::PrecisionSlider(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("PrecisionBar"));
    setAttribute(Qt::WA_StyledBackground, true);
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(18, 10, 18, 6);
    v->setSpacing(4);
    auto* top = new QHBoxLayout;
    auto* title = new QLabel(tr("Precision"), this);
    title->setObjectName(QStringLiteral("PrecisionTitle"));
    value_ = new QLabel(this);
    value_->setObjectName(QStringLiteral("PrecisionValue"));
    detail_ = new QLabel(this);
    detail_->setObjectName(QStringLiteral("MessageMeta"));
    // Long details must not set the window's minimum width; the tooltip keeps the full text.
    // Wrapped rather than cut when the window is narrow.
    detail_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    detail_->setWordWrap(true);
    wizard_ = new QPushButton(tr("Make an any-precision copy\u2026"), this);
    wizard_->setVisible(false);
    top->addWidget(title);
    top->addSpacing(8);
    top->addWidget(value_);
    top->addSpacing(8);
    top->addWidget(detail_, 1);
    top->addWidget(wizard_);
    v->addLayout(top);

    slider_ = new QSlider(Qt::Horizontal, this);
    slider_->setTickPosition(QSlider::NoTicks);
    slider_->setPageStep(1);
    slider_->setToolTip(tr("Width used for the next token; lower widths read fewer bytes and decode faster"));
    // The slider sits in a row whose side margins placeTickLabels() sets, so
    // that every stop is the centre of an equal slot for its label.
    sliderRow_ = new QHBoxLayout;
    sliderRow_->setContentsMargins(0, 0, 0, 0);
    sliderRow_->addWidget(slider_);
    v->addLayout(sliderRow_);
    ticks_ = new QWidget(this);
    ticks_->setFixedHeight(QFontMetrics(font()).lineSpacing() * 3 + 4);
    v->addWidget(ticks_);

    connect(slider_, &QSlider::valueChanged, this, [this](int b) {
        if (!info_.anyPrecision) return;
        if (auto_) {  // engine updates are signal-blocked: this is the user's hand
            auto_ = false;
            bits_ = b;
            refreshLabels();
            emit autoLeft();
            emit bitsChanged(b);
            return;
        }
        if (b == bits_) return;
        bits_ = b;
        refreshLabels();
        emit bitsChanged(b);
    });
    connect(wizard_, &QPushButton::clicked, this, &PrecisionSlider::wizardRequested);
    setModel({}, 0);
}

void PrecisionSlider::setModel(const ModelInfo& info, int preferredBits) {
    info_ = info;
    qDeleteAll(tickLabels_);
    tickLabels_.clear();
    const QSignalBlocker block(slider_);
    if (info.anyPrecision) {
        slider_->setEnabled(true);
        slider_->setRange(info.seedBits, info.parentBits);
        bits_ = preferredBits <= 0 ? info.parentBits : qBound(info.seedBits, preferredBits, info.parentBits);
        slider_->setValue(bits_);
        for (int b = info.seedBits; b <= info.parentBits; ++b) {
            const WidthInfo* w = info.width(b);
            auto* l = new QLabel(ticks_);
            l->setObjectName(QStringLiteral("TickLabel"));
            l->setAlignment(Qt::AlignHCenter | Qt::AlignTop);
            l->setProperty("bits", b);
            l->setToolTip(tr("%1: %2 bits per weight including tables; reads %3 of weights per token")
                              .arg(fmt::width(b))
                              .arg(w ? w->bitsPerWeight : 0, 0, 'f', 2)
                              .arg(fmt::bytes(w ? w->bytesPerToken : 0)));
            l->show();
            tickLabels_.append(l);
        }
        wizard_->setVisible(false);
        slider_->setVisible(true);
        ticks_->setVisible(true);
    } else {
        // One width only: no slider to drag, just the offer to make an any-precision copy.
        slider_->setEnabled(false);
        slider_->setRange(0, 0);
        slider_->setVisible(false);
        ticks_->setVisible(false);
        bits_ = 0;
        wizard_->setVisible(info.isValid());
    }
    auto_ = false;  // the owner re-applies auto for the new model if it is still chosen
    engineBits_ = 0;
    refreshLabels();
    placeTickLabels();
    emit modelSet(info_);
}

void PrecisionSlider::addRow(QWidget* w) {
    w->setParent(this);
    static_cast<QVBoxLayout*>(layout())->addWidget(w);
}

void PrecisionSlider::setAutoMode(bool on, double targetTps) {
    if (!info_.anyPrecision) on = false;
    auto_ = on;
    targetTps_ = targetTps;
    engineBits_ = 0;
    if (!on && info_.anyPrecision) {
        const QSignalBlocker block(slider_);
        slider_->setValue(bits_);  // back to the manual width
    }
    refreshLabels();
}

int PrecisionSlider::shownBits() const { return slider_->value(); }

void PrecisionSlider::showEngineBits(int bits) {
    if (!auto_ || bits == engineBits_) return;
    engineBits_ = bits;
    const QSignalBlocker block(slider_);
    slider_->setValue(bits);
    refreshLabels();
}

void PrecisionSlider::setBits(int bits) {
    if (!info_.anyPrecision) return;
    slider_->setValue(qBound(info_.seedBits, bits, info_.parentBits));
}

void PrecisionSlider::refreshLabels() {
    if (!info_.isValid()) {
        value_->setText(tr("no model"));
        detail_->clear();
        return;
    }
    if (!info_.anyPrecision) {
        value_->setText(tr("full precision"));
        detail_->setText(tr("plain model, one width (%1 of weights) \u00b7 Quantize it to serve 3\u20138 bits")
                             .arg(fmt::bytes(info_.weightBytes())));
        detail_->setToolTip(tr("%1 is not an any-precision model. Use File \u2192 Quantize\u2026 to build one.").arg(info_.name));
        return;
    }
    const int shown = auto_ ? engineBits_ : bits_;
    const WidthInfo* w = info_.width(shown);
    if (auto_) {
        value_->setText(engineBits_ > 0 ? tr("auto \u00b7 %1").arg(fmt::width(engineBits_)) : tr("auto"));
        detail_->setText(tr("the engine picks each token's width to hold %1; drag to choose one yourself")
                             .arg(fmt::tokensPerSecond(targetTps_)));
    } else {
        value_->setText(fmt::width(bits_));
        detail_->setText(w ? tr("%1 bits/weight \u00b7 reads %2 per token \u00b7 parent resident: %3")
                                 .arg(w->bitsPerWeight, 0, 'f', 2)
                                 .arg(fmt::bytes(w->bytesPerToken), fmt::bytes(info_.weightBytes()))
                           : QString());
    }
    for (int i = 0; i < tickLabels_.size(); ++i) {
        QLabel* l = tickLabels_[i];
        l->setProperty("current", info_.seedBits + i == shown);
        l->style()->unpolish(l);  // re-evaluate the [current="true"] style rule
        l->style()->polish(l);
    }
    placeTickLabels();  // the current stop is bold: its label may need the shorter form
}

void PrecisionSlider::resizeEvent(QResizeEvent* e) {
    QWidget::resizeEvent(e);
    placeTickLabels();
}

// The label of a stop, as long as `width` allows: "3-bit / 3.19 bpw / 12.3 MiB",
// then without units, then the width alone (the tooltip always has it all).
static QString tickText(const ModelInfo& info, int b, const QFontMetrics& fm, int width) {
    const WidthInfo* w = info.width(b);
    if (!w) return QStringLiteral("%1-bit").arg(b);
    const QList<QStringList> forms = {
        {QStringLiteral("%1-bit").arg(b), QStringLiteral("%1 bpw").arg(w->bitsPerWeight, 0, 'f', 2), fmt::bytes(w->bytesPerToken)},
        {QStringLiteral("%1-bit").arg(b), QString::number(w->bitsPerWeight, 'f', 2),
         QString::number(w->bytesPerToken / double(1 << 20), 'f', 0) + QStringLiteral("M")},
        {QString::number(b), QString::number(w->bitsPerWeight, 'f', 1)},
        {QString::number(b)}};
    for (const QStringList& lines : forms) {
        bool fits = true;
        for (const QString& line : lines) fits = fits && fm.horizontalAdvance(line) <= width;
        if (fits || &lines == &forms.last()) return lines.join(QLatin1Char('\n'));
    }
    return QString::number(b);
}

void PrecisionSlider::placeTickLabels() {
    if (tickLabels_.isEmpty()) {
        sliderRow_->setContentsMargins(0, 0, 0, 0);
        return;
    }
    // n equal slots across the bar, a label in each; the slider's margins put
    // stop i at the centre of slot i, so labels never overlap however narrow.
    QStyleOptionSlider opt;
    opt.initFrom(slider_);
    opt.orientation = Qt::Horizontal;
    const QRect handle = slider_->style()->subControlRect(QStyle::CC_Slider, &opt, QStyle::SC_SliderHandle, slider_);
    const int hw = qMax(handle.width(), 16);
    const int n = int(tickLabels_.size());
    constexpr int kGap = 6;
    const double W = ticks_->width();
    const double stride = (W + kGap) / n;
    const int labelW = qMax(8, int(stride) - kGap);
    const int margin = qMax(0, (labelW - hw) / 2);
    if (sliderRow_->contentsMargins().left() != margin) sliderRow_->setContentsMargins(margin, 0, margin, 0);
    for (int i = 0; i < n; ++i) {
        QLabel* l = tickLabels_[i];
        l->setText(tickText(info_, l->property("bits").toInt(), QFontMetrics(l->font()), labelW));
        l->setGeometry(int(i * stride), 0, labelW, ticks_->height());
    }
}

}  // namespace studio
