#include "chat_view.h"

#include "message_widget.h"

#include <QLabel>
#include <QScrollBar>
#include <QTimer>
#include <QVBoxLayout>

namespace studio {

ChatView::ChatView(ConversationModel* model, QWidget* parent) : QScrollArea(parent), model_(model) {
    setObjectName(QStringLiteral("ChatArea"));
    setWidgetResizable(true);
    setFrameShape(QFrame::NoFrame);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    content_ = new QWidget(this);
    content_->setObjectName(QStringLiteral("ChatContent"));
    column_ = new QVBoxLayout(content_);
    column_->setContentsMargins(0, 12, 0, 12);
    column_->setSpacing(6);
    // The column's height comes from height-for-width (QScrollArea asks for it):
    // a wrapped label's minimum height is that of its narrowest width, and as
    // the content's minimum it left screens of empty space below the bubbles.
    column_->setSizeConstraint(QLayout::SetNoConstraint);
    content_->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Ignored);
    placeholder_ = new QLabel(content_);
    placeholder_->setObjectName(QStringLiteral("Placeholder"));
    placeholder_->setAlignment(Qt::AlignCenter);
    placeholder_->setWordWrap(true);
    placeholder_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    column_->addWidget(placeholder_);
    column_->addStretch(1);
    setWidget(content_);

    connect(verticalScrollBar(), &QScrollBar::valueChanged, this, [this](int v) {
        following_ = v >= verticalScrollBar()->maximum() - 24;
    });
    // When content grows, keep the newest text in view if we were at the bottom.
    connect(verticalScrollBar(), &QScrollBar::rangeChanged, this, [this](int, int max) {
        if (following_) verticalScrollBar()->setValue(max);
    });
    connect(model_, &QAbstractItemModel::modelReset, this, &ChatView::rebuild);
    connect(model_, &ConversationModel::contextStartChanged, this, &ChatView::updateContextMarks);
    connect(model_, &QAbstractItemModel::rowsInserted, this,
            [this](const QModelIndex&, int first, int last) { insertRows(first, last); });
    connect(model_, &QAbstractItemModel::rowsRemoved, this,
            [this](const QModelIndex&, int first, int last) { removeRows(first, last); });
    connect(model_, &QAbstractItemModel::dataChanged, this,
            [this](const QModelIndex& a, const QModelIndex& b, const QList<int>& roles) {
                refreshRows(a.row(), b.row(), roles);
            });
    setPlaceholder(tr("Send a message to start."));
    rebuild();
}

void ChatView::setPlaceholder(const QString& text) {
    placeholder_->setText(text);
    placeholder_->setVisible(bubbles_.isEmpty());
}

QString ChatView::bubbleText(int row) const { return bubbles_.value(row) ? bubbles_[row]->text() : QString(); }

MessageWidget* ChatView::makeBubble(int row) {
    auto* w = new MessageWidget(model_->message(row), content_);
    connect(w, &MessageWidget::copyRequested, this, [this, w] { emit copyRequested(rowOf(w)); });
    connect(w, &MessageWidget::editSubmitted, this, [this, w](const QString& t) { emit editSubmitted(rowOf(w), t); });
    connect(w, &MessageWidget::regenerateRequested, this, &ChatView::regenerateRequested);
    connect(w, &MessageWidget::versionRequested, this, [this, w](int v) { emit versionRequested(rowOf(w), v); });
    return w;
}

void ChatView::rebuild() {
    qDeleteAll(bubbles_);
    bubbles_.clear();
    if (model_->rowCount() > 0) insertRows(0, model_->rowCount() - 1);
    placeholder_->setVisible(bubbles_.isEmpty());
    following_ = true;
}

void ChatView::insertRows(int first, int last) {
    for (int r = first; r <= last; ++r) {
        auto* w = makeBubble(r);
        bubbles_.insert(r, w);
        column_->insertWidget(r + 1, w);  // +1: the placeholder is item 0
    }
    placeholder_->setVisible(bubbles_.isEmpty());
    following_ = true;  // a new message always comes into view
    updateRegenerateButtons();
    updateContextMarks();
}

void ChatView::removeRows(int first, int last) {
    for (int r = last; r >= first; --r) delete bubbles_.takeAt(r);
    placeholder_->setVisible(bubbles_.isEmpty());
    updateRegenerateButtons();
    updateContextMarks();
}

void ChatView::refreshRows(int first, int last, const QList<int>& roles) {
    for (int r = first; r <= last && r < bubbles_.size(); ++r) {
        if (roles.size() == 1 && roles.first() == ConversationModel::TextRole) bubbles_[r]->setText(model_->message(r).text);
        else bubbles_[r]->update(model_->message(r));
    }
    updateRegenerateButtons();
}

void ChatView::updateContextMarks() {
    const int start = model_->conversation().contextStart;
    for (int r = 0; r < bubbles_.size(); ++r) bubbles_[r]->setContextState(r == start ? start : 0, r < start);
}

void ChatView::updateRegenerateButtons() {
    for (int r = 0; r < bubbles_.size(); ++r) {
        const Message& m = model_->message(r);
        bubbles_[r]->setCanRegenerate(r == bubbles_.size() - 1 && !m.streaming);
    }
}

}  // namespace studio
