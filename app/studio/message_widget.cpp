#include "message_widget.h"

#include "format_util.h"
#include "markdown_view.h"
#include "theme.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QToolButton>
#include <QVBoxLayout>

namespace studio {

namespace {
QToolButton* actionButton(const QString& text, QWidget* parent) {
    auto* b = new QToolButton(parent);
    b->setText(text);
    b->setObjectName(QStringLiteral("MessageAction"));
    b->setCursor(Qt::PointingHandCursor);
    return b;
}
}  // namespace

MessageWidget::MessageWidget(const Message& m, QWidget* parent) : QWidget(parent) {
    user_ = m.role == QLatin1String("user");
    auto* page = new QVBoxLayout(this);
    page->setContentsMargins(0, 0, 0, 0);
    page->setSpacing(0);
    contextLine_ = new QLabel(this);
    contextLine_->setObjectName(QStringLiteral("ContextUsage"));
    contextLine_->setAlignment(Qt::AlignCenter);
    contextLine_->setWordWrap(true);
    contextLine_->setVisible(false);
    page->addWidget(contextLine_);
    auto* outer = new QHBoxLayout;
    page->addLayout(outer);
    outer->setContentsMargins(16, 4, 16, 4);

    bubble_ = new QFrame(this);
    bubble_->setObjectName(user_ ? QStringLiteral("UserBubble") : QStringLiteral("AssistantBubble"));
    bubble_->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Minimum);
    auto* v = new QVBoxLayout(bubble_);
    v->setContentsMargins(14, 10, 14, 8);
    v->setSpacing(6);

    auto* header = new QHBoxLayout;
    role_ = new QLabel(user_ ? tr("You") : tr("Assistant"), bubble_);
    role_->setObjectName(QStringLiteral("MessageRole"));
    badge_ = new QLabel(bubble_);
    badge_->setObjectName(QStringLiteral("WidthBadge"));
    badge_->setVisible(false);
    meta_ = new QLabel(bubble_);
    meta_->setObjectName(QStringLiteral("MessageMeta"));
    // The stats take what is left of the line, right-aligned, and wrap in a
    // narrow window instead of setting the bubble's minimum width.
    meta_->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    meta_->setWordWrap(true);
    meta_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    header->addWidget(role_);
    header->addWidget(badge_);
    header->addWidget(meta_, 1);
    v->addLayout(header);

    if (user_) {
        body_ = new QLabel(bubble_);
        body_->setWordWrap(true);
        body_->setTextFormat(Qt::PlainText);
        body_->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
        // Ignored: the text re-wraps to the bubble's width instead of holding
        // the bubble at the width it had when the window was wider.
        body_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Minimum);
        shown_ = body_;
    } else {
        markdown_ = new MarkdownView(bubble_);
        markdown_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Minimum);
        shown_ = markdown_;
    }
    v->addWidget(shown_);

    // The editor replaces the text while editing (shown/hidden rather than
    // stacked, so a bubble is only as tall as what it shows).
    editPage_ = new QWidget(bubble_);
    auto* editPage = editPage_;
    auto* ev = new QVBoxLayout(editPage);
    ev->setContentsMargins(0, 0, 0, 0);
    editor_ = new QPlainTextEdit(editPage);
    editor_->setMinimumHeight(70);
    auto* eb = new QHBoxLayout;
    auto* cancel = new QPushButton(tr("Cancel"), editPage);
    auto* resend = new QPushButton(tr("Save && send"), editPage);
    resend->setObjectName(QStringLiteral("Primary"));
    eb->addStretch(1);
    eb->addWidget(cancel);
    eb->addWidget(resend);
    ev->addWidget(editor_);
    ev->addLayout(eb);
    editPage->setVisible(false);
    v->addWidget(editPage);
    connect(cancel, &QPushButton::clicked, this, &MessageWidget::endEdit);
    connect(resend, &QPushButton::clicked, this, [this] {
        const QString t = editor_->toPlainText();
        endEdit();
        emit editSubmitted(t);
    });

    auto* actions = new QHBoxLayout;
    actions->setSpacing(2);
    copy_ = actionButton(tr("Copy"), bubble_);
    edit_ = actionButton(tr("Edit"), bubble_);
    regen_ = actionButton(tr("Regenerate"), bubble_);
    edit_->setVisible(user_);
    regen_->setVisible(false);
    // Earlier answers of a regenerated message: ‹ 2 / 3 ›
    prev_ = actionButton(QStringLiteral("\u2039"), bubble_);
    prev_->setToolTip(tr("Previous answer"));
    next_ = actionButton(QStringLiteral("\u203a"), bubble_);
    next_->setToolTip(tr("Next answer"));
    versionLabel_ = new QLabel(bubble_);
    versionLabel_->setObjectName(QStringLiteral("MessageMeta"));
    for (QWidget* x : {static_cast<QWidget*>(prev_), static_cast<QWidget*>(versionLabel_), static_cast<QWidget*>(next_)})
        x->setVisible(false);
    connect(prev_, &QToolButton::clicked, this, [this] { if (prevVersion_) emit versionRequested(prevVersion_); });
    connect(next_, &QToolButton::clicked, this, [this] { if (nextVersion_) emit versionRequested(nextVersion_); });
    if (user_) actions->addStretch(1);
    if (!user_) {
        actions->addWidget(prev_);
        actions->addWidget(versionLabel_);
        actions->addWidget(next_);
    }
    actions->addWidget(copy_);
    actions->addWidget(edit_);
    actions->addWidget(regen_);
    if (!user_) actions->addStretch(1);
    v->addLayout(actions);
    connect(copy_, &QToolButton::clicked, this, &MessageWidget::copyRequested);
    connect(edit_, &QToolButton::clicked, this, &MessageWidget::startEdit);
    connect(regen_, &QToolButton::clicked, this, &MessageWidget::regenerateRequested);

    // User turns sit on the right, answers on the left; neither spans the whole width.
    if (user_) outer->addStretch(1);
    outer->addWidget(bubble_, 6);
    if (!user_) outer->addStretch(1);
    update(m);
}

void MessageWidget::update(const Message& m) {
    setText(m.text);
    if (!user_) {
        badge_->setVisible(!m.widths.isEmpty());
        if (!m.widths.isEmpty()) {
            badge_->setText(fmt::widths(m.widths));
            const QColor c = theme::widthColor(m.widths.last());
            badge_->setStyleSheet(QStringLiteral("background:%1;").arg(c.name()));
            badge_->setToolTip(m.widths.size() > 1 ? tr("The width was changed while this answer was generated")
                                                   : tr("Width that produced this answer"));
        }
        version_ = m.version;
        versionCount_ = m.versionCount();
        const bool several = versionCount_ > 1;
        prev_->setVisible(several);
        next_->setVisible(several);
        versionLabel_->setVisible(several);
        // Versions are numbered in the order they were written; the shown one may be any.
        int pos = 1;
        for (const Message& o : m.others) pos += o.version < m.version;
        versionLabel_->setText(QStringLiteral("%1 / %2").arg(pos).arg(versionCount_));
        prev_->setEnabled(!m.streaming && pos > 1);
        next_->setEnabled(!m.streaming && pos < versionCount_);
        prevVersion_ = nextVersion_ = 0;
        for (const Message& o : m.others) {
            if (o.version < m.version && o.version > prevVersion_) prevVersion_ = o.version;
            if (o.version > m.version && (nextVersion_ == 0 || o.version < nextVersion_)) nextVersion_ = o.version;
        }
        QString meta;
        if (m.streaming) meta = tr("generating\u2026");
        else if (m.nTokens > 0)
            meta = tr("%1 tokens \u00b7 %2 \u00b7 first token %3")
                       .arg(m.nTokens)
                       .arg(fmt::tokensPerSecond(m.tokensPerSecond), fmt::seconds(m.ttftS));
        if (!m.model.isEmpty()) meta = meta.isEmpty() ? m.model : m.model + QStringLiteral(" \u00b7 ") + meta;
        if (m.reason == StopReason::Cancelled) meta += tr(" \u00b7 stopped");
        if (m.reason == StopReason::MaxTokens) meta += tr(" \u00b7 length limit");
        meta_->setText(meta);
    }
    copy_->setEnabled(!m.streaming);
}

void MessageWidget::setText(const QString& text) {
    if (markdown_) markdown_->setMarkdown(text);
    else if (body_->text() != text) body_->setText(text);
}

QString MessageWidget::text() const { return markdown_ ? markdown_->markdown() : body_->text(); }

void MessageWidget::setCanRegenerate(bool on) { regen_->setVisible(on && !user_); }

void MessageWidget::setContextState(int droppedAbove, bool outside) {
    contextLine_->setVisible(droppedAbove > 0);
    if (droppedAbove > 0)
        contextLine_->setText(
            (droppedAbove == 1 ? tr("\u2191 The message above did not fit the context and was left out of the last question")
                               : tr("\u2191 The %1 messages above did not fit the context and were left out of the last "
                                    "question").arg(droppedAbove)) +
            tr(" (the oldest go first; the system prompt and the new question always stay)"));
    const QString role = user_ ? tr("You") : tr("Assistant");
    role_->setText(outside ? tr("%1 \u00b7 not in context").arg(role) : role);
}

QString MessageWidget::versionText() const { return versionLabel_->isVisible() ? versionLabel_->text() : QString(); }

QString MessageWidget::contextNote() const { return contextLine_->isVisible() ? contextLine_->text() : QString(); }

bool MessageWidget::isEditing() const { return !editPage_->isHidden(); }

void MessageWidget::startEdit() {
    editor_->setPlainText(text());
    shown_->setVisible(false);
    editPage_->setVisible(true);
    editor_->setFocus();
}

void MessageWidget::endEdit() {
    editPage_->setVisible(false);
    shown_->setVisible(true);
}

}  // namespace studio
