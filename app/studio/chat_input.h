// The message editor: Enter sends, Shift+Enter starts a new line; grows with
// its text up to a few lines.
#pragma once
#include <QPlainTextEdit>

namespace studio {

class ChatInput : public QPlainTextEdit {
    Q_OBJECT
public:
    explicit ChatInput(QWidget* parent = nullptr);
    QSize sizeHint() const override;

signals:
    void submitted();

protected:
    void keyPressEvent(QKeyEvent* e) override;
};

}  // namespace studio
