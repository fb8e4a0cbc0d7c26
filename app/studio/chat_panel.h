// The chat page: precision slider on top, message bubbles, and the input
// row with Send / Stop (Esc). Actions go to the ChatController.
#pragma once
#include <QWidget>

class QLabel;
class QPushButton;

namespace studio {

class ChatController;
class ChatInput;
class ChatView;
class DecodeModeBar;
class PrecisionSlider;

class ChatPanel : public QWidget {
    Q_OBJECT
public:
    explicit ChatPanel(ChatController* chat, QWidget* parent = nullptr);

    PrecisionSlider* precision() const { return precision_; }
    DecodeModeBar* decodeMode() const { return decodeMode_; }
    ChatView* view() const { return view_; }
    ChatInput* input() const { return input_; }
    QPushButton* sendButton() const { return send_; }
    QPushButton* stopButton() const { return stop_; }
    void setPlaceholder(const QString& text);
    QLabel* contextLabel() const { return context_; }
    void submit();

private:
    void updateButtons();
    void wireDecodeMode();
    void updateContext();

    ChatController* chat_;
    PrecisionSlider* precision_ = nullptr;
    DecodeModeBar* decodeMode_ = nullptr;
    ChatView* view_ = nullptr;
    ChatInput* input_ = nullptr;
    QPushButton* send_ = nullptr;
    QPushButton* stop_ = nullptr;
    QLabel* hint_ = nullptr;
    QLabel* context_ = nullptr;
};

}  // namespace studio
