// One chat turn drawn as a bubble: who said it, which width(s) produced it,
// its speed, and the per-message actions (copy, edit & resend, regenerate).
#pragma once
#include "conversation.h"

#include <QFrame>

class QLabel;
class QPlainTextEdit;
class QToolButton;

namespace studio {

class MarkdownView;

class MessageWidget : public QWidget {
    Q_OBJECT
public:
    explicit MessageWidget(const Message& m, QWidget* parent = nullptr);

    void update(const Message& m);       // header, badge, stats and text
    void setText(const QString& text);   // streaming: text only
    void setCanRegenerate(bool on);
    // The context rule made visible: `droppedAbove` > 0 puts a line above this
    // bubble saying the messages above were not sent; outside marks one of them.
    void setContextState(int droppedAbove, bool outside);
    QString contextNote() const;
    QString versionText() const;  // "2 / 3", empty with one version
    QToolButton* previousVersionButton() const { return prev_; }
    QToolButton* nextVersionButton() const { return next_; }
    QString text() const;
    MarkdownView* markdown() const { return markdown_; }  // null for user turns
    bool isEditing() const;

signals:
    void copyRequested();
    void editSubmitted(const QString& text);
    void regenerateRequested();
    void versionRequested(int version);

private:
    void startEdit();
    void endEdit();

    bool user_ = false;
    QLabel* contextLine_ = nullptr;
    QFrame* bubble_ = nullptr;
    QLabel* role_ = nullptr;
    QLabel* badge_ = nullptr;
    QLabel* meta_ = nullptr;
    QLabel* body_ = nullptr;          // user turns: the text as typed
    MarkdownView* markdown_ = nullptr;  // answers: rendered Markdown with code blocks
    QWidget* shown_ = nullptr;          // whichever of the two this bubble uses
    QWidget* editPage_ = nullptr;
    QPlainTextEdit* editor_ = nullptr;
    QToolButton* copy_ = nullptr;
    QToolButton* edit_ = nullptr;
    QToolButton* regen_ = nullptr;
    QToolButton* prev_ = nullptr;
    QToolButton* next_ = nullptr;
    QLabel* versionLabel_ = nullptr;
    int version_ = 1, versionCount_ = 1, prevVersion_ = 0, nextVersion_ = 0;
};

}  // namespace studio
