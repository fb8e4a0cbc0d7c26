#include "chat_input.h"

#include <QKeyEvent>

namespace studio {

ChatInput::ChatInput(QWidget* parent) : QPlainTextEdit(parent) {
    setPlaceholderText(tr("Message the model \u2014 Enter to send, Shift+Enter for a new line"));
    setTabChangesFocus(true);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    connect(this, &QPlainTextEdit::textChanged, this, [this] { setFixedHeight(sizeHint().height()); });
    setFixedHeight(sizeHint().height());
}

QSize ChatInput::sizeHint() const {
    const int lines = qBound(1, int(document()->size().height()), 6);
    const int h = fontMetrics().lineSpacing() * lines + 2 * int(document()->documentMargin()) + 8;
    return {QPlainTextEdit::sizeHint().width(), qMax(h, 40)};
}

void ChatInput::keyPressEvent(QKeyEvent* e) {
    const bool enter = e->key() == Qt::Key_Return || e->key() == Qt::Key_Enter;
    if (enter && !(e->modifiers() & Qt::ShiftModifier)) {
        e->accept();
        emit submitted();
        return;
    }
    if (enter) {  // Shift+Enter: a plain new line (not a paragraph separator)
        insertPlainText(QStringLiteral("\n"));
        e->accept();
        return;
    }
    QPlainTextEdit::keyPressEvent(e);
}

}  // namespace studio
