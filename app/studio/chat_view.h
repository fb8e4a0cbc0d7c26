// The scrolling column of message bubbles, kept in step with a
// ConversationModel. Only the changed bubble is updated when text streams in.
#pragma once
#include "conversation_model.h"

#include <QScrollArea>

class QLabel;
class QVBoxLayout;

namespace studio {

class MessageWidget;

class ChatView : public QScrollArea {
    Q_OBJECT
public:
    explicit ChatView(ConversationModel* model, QWidget* parent = nullptr);

    void setPlaceholder(const QString& text);  // shown while there are no messages
    int bubbleCount() const { return int(bubbles_.size()); }
    MessageWidget* bubble(int row) const { return bubbles_.value(row); }
    QString bubbleText(int row) const;

signals:
    void copyRequested(int row);
    void editSubmitted(int row, const QString& text);
    void regenerateRequested();
    void versionRequested(int row, int version);

private:
    void rebuild();
    void insertRows(int first, int last);
    void removeRows(int first, int last);
    void refreshRows(int first, int last, const QList<int>& roles);
    void updateRegenerateButtons();
    void updateContextMarks();
    MessageWidget* makeBubble(int row);
    int rowOf(const MessageWidget* w) const { return int(bubbles_.indexOf(const_cast<MessageWidget*>(w))); }

    ConversationModel* model_;
    QWidget* content_ = nullptr;
    QVBoxLayout* column_ = nullptr;
    QLabel* placeholder_ = nullptr;
    QList<MessageWidget*> bubbles_;
    bool following_ = true;  // stick to the bottom unless the user scrolled up
};

}  // namespace studio
