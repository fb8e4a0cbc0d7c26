#include "chat_panel.h"

#include "chat_controller.h"
#include "chat_input.h"
#include "chat_view.h"
#include "app_settings.h"
#include "decode_mode_bar.h"
#include "precision_slider.h"

#include <QApplication>
#include <QClipboard>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QShortcut>
#include <QStyle>
#include <QVBoxLayout>

namespace studio {

ChatPanel::ChatPanel(ChatController* chat, QWidget* parent) : QWidget(parent), chat_(chat) {
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(0, 0, 0, 0);
    v->setSpacing(0);
    precision_ = new PrecisionSlider(this);
    v->addWidget(precision_);
    decodeMode_ = new DecodeModeBar(this);
    precision_->addRow(decodeMode_);  // inside the slider's bar: one control area
    view_ = new ChatView(chat_->model(), this);
    v->addWidget(view_, 1);

    auto* bottom = new QWidget(this);
    bottom->setObjectName(QStringLiteral("ChatBottom"));
    bottom->setAttribute(Qt::WA_StyledBackground, true);
    auto* bv = new QVBoxLayout(bottom);
    bv->setContentsMargins(16, 6, 16, 10);
    auto* frame = new QFrame(bottom);
    frame->setObjectName(QStringLiteral("InputFrame"));
    auto* h = new QHBoxLayout(frame);
    h->setContentsMargins(10, 6, 8, 6);
    input_ = new ChatInput(frame);
    send_ = new QPushButton(tr("Send"), frame);
    send_->setObjectName(QStringLiteral("Primary"));
    stop_ = new QPushButton(tr("Stop"), frame);
    stop_->setObjectName(QStringLiteral("Danger"));
    stop_->setToolTip(tr("Stop generating (Esc)"));
    h->addWidget(input_, 1);
    h->addWidget(send_, 0, Qt::AlignBottom);
    h->addWidget(stop_, 0, Qt::AlignBottom);
    bv->addWidget(frame);
    hint_ = new QLabel(tr("Enter to send \u00b7 Shift+Enter for a new line \u00b7 Esc stops"), bottom);
    hint_->setObjectName(QStringLiteral("MessageMeta"));
    hint_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    hint_->setWordWrap(true);
    context_ = new QLabel(bottom);
    context_->setObjectName(QStringLiteral("ContextUsage"));
    context_->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    context_->setToolTip(tr("When the conversation plus room for the answer (max tokens, at most half the context) no "
                            "longer fits the context, the oldest messages after the system prompt are left out, a "
                            "question together with its answer. The system prompt and the new question always stay. "
                            "Settings \u2192 Engine \u2192 Context length sets the size."));
    auto* hintRow = new QHBoxLayout;
    hintRow->addWidget(hint_, 1);
    hintRow->addWidget(context_);
    bv->addLayout(hintRow);
    v->addWidget(bottom);

    auto* esc = new QShortcut(QKeySequence(Qt::Key_Escape), this);
    esc->setContext(Qt::WindowShortcut);
    connect(esc, &QShortcut::activated, chat_, &ChatController::stop);
    connect(input_, &ChatInput::submitted, this, &ChatPanel::submit);
    connect(send_, &QPushButton::clicked, this, &ChatPanel::submit);
    connect(stop_, &QPushButton::clicked, chat_, &ChatController::stop);
    connect(chat_, &ChatController::streamingChanged, this, &ChatPanel::updateButtons);
    connect(chat_, &ChatController::contextChanged, this, &ChatPanel::updateContext);
    connect(precision_, &PrecisionSlider::bitsChanged, chat_, &ChatController::setBits);
    connect(view_, &ChatView::copyRequested, this, [this](int row) {
        if (row >= 0 && row < chat_->model()->rowCount()) QApplication::clipboard()->setText(chat_->model()->message(row).text);
    });
    connect(view_, &ChatView::editSubmitted, chat_, &ChatController::editAndResend);
    connect(view_, &ChatView::regenerateRequested, chat_, &ChatController::regenerate);
    wireDecodeMode();
    connect(view_, &ChatView::versionRequested, chat_, &ChatController::showVersion);
    updateButtons();
    updateContext();
}

void ChatPanel::wireDecodeMode() {
    // The bar decides what the next request carries; the chat sends it, the
    // slider shows the auto stop, and the choices are saved as they change.
    const AppSettings settings;
    decodeMode_->setChoices(settings.speculative(), settings.draftBits(), settings.autoWidth(), settings.targetTps());
    connect(decodeMode_, &DecodeModeBar::modeChanged, this, [this] {
        chat_->setTargetTps(decodeMode_->targetTps());
        chat_->setDraftBits(decodeMode_->draftBits());
        precision_->setAutoMode(decodeMode_->targetTps() > 0, decodeMode_->targetTps());
        const AppSettings settings;
        settings.setSpeculative(decodeMode_->speculativeChosen());
        settings.setDraftBits(decodeMode_->preferredDraftBits());
        settings.setAutoWidth(decodeMode_->autoChosen());
        settings.setTargetTps(decodeMode_->targetChosen());
    });
    connect(precision_, &PrecisionSlider::modelSet, this, [this](const ModelInfo& info) {
        decodeMode_->setModel(info, precision_->bits());
    });
    connect(precision_, &PrecisionSlider::bitsChanged, decodeMode_, &DecodeModeBar::setBits);
    connect(precision_, &PrecisionSlider::autoLeft, this, [this] { decodeMode_->setAuto(false); });
    connect(chat_, &ChatController::tokenStats, this, [this](const TokenStats& s) {
        decodeMode_->addStats(s);
        if (precision_->autoMode()) precision_->showEngineBits(s.bits);
    });
    connect(chat_, &ChatController::turnFinished, decodeMode_, &DecodeModeBar::setSummary);
}

void ChatPanel::setPlaceholder(const QString& text) { view_->setPlaceholder(text); }

void ChatPanel::submit() {
    if (chat_->send(input_->toPlainText())) input_->clear();
}

void ChatPanel::updateContext() {
    const int len = chat_->contextLength(), used = chat_->contextTokens();
    context_->setVisible(len > 0);
    if (len <= 0) return;
    const bool full = used >= 0 && used + chat_->contextReserve() > len;
    QString text = used < 0 ? tr("Context: counting\u2026")
                            : tr("Context: %1 / %2 tokens (%3%)").arg(used).arg(len).arg(qMin(100, 100 * used / len));
    const int dropped = chat_->model()->conversation().contextStart;
    if (full) text += tr(" \u00b7 full: the next question leaves out the oldest messages");
    else if (dropped > 0) text += (dropped == 1 ? tr(" \u00b7 the oldest message left out")
                                                   : tr(" \u00b7 %1 oldest messages left out").arg(dropped));
    context_->setText(text);
    if (context_->property("full").toBool() != full) {
        context_->setProperty("full", full);
        context_->style()->unpolish(context_);
        context_->style()->polish(context_);
    }
}

void ChatPanel::updateButtons() {
    const bool busy = chat_->isStreaming();
    send_->setVisible(!busy);
    stop_->setVisible(busy);
}

}  // namespace studio
