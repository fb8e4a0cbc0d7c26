// Side-by-side comparison: 2..4 widths answer one prompt with the same seed;
// the engine interleaves them token by token so all columns stream at once.
#pragma once
#include "engine_controller.h"

#include <QMap>
#include <QTimer>
#include <QWidget>

class QCheckBox;
class QHBoxLayout;
class QLabel;
class QPushButton;

namespace studio {

class ChatInput;
class CompareColumn;

class ComparisonView : public QWidget {
    Q_OBJECT
public:
    static constexpr int kMinWidths = 2, kMaxWidths = 4;

    explicit ComparisonView(EngineController* engine, QWidget* parent = nullptr);

    void setSampling(const SamplingSettings& s) { sampling_ = s; }
    void setSystemPrompt(const QString& p) { systemPrompt_ = p; }
    void setSelectedWidths(const QList<int>& widths);
    QList<int> selectedWidths() const;
    void setPrompt(const QString& text);
    bool run();  // false (with a message) when the selection or prompt is not valid
    void stop();
    bool isRunning() const { return activeId_ != 0; }
    CompareColumn* column(int i) const { return columns_.value(i); }
    int columnCount() const { return int(columns_.size()); }

signals:
    void selectionChanged(const QList<int>& widths);
    void runningChanged(bool running);

private:
    void onModel(const ModelInfo& info);
    void flush();
    void updateState();

    EngineController* engine_;
    SamplingSettings sampling_;
    QString systemPrompt_;
    QMap<int, QCheckBox*> boxes_;
    QHBoxLayout* boxRow_ = nullptr;
    ChatInput* prompt_ = nullptr;
    QPushButton* run_ = nullptr;
    QPushButton* stop_ = nullptr;
    QLabel* hint_ = nullptr;
    QHBoxLayout* columnRow_ = nullptr;
    QList<CompareColumn*> columns_;
    QMap<int, QString> pending_;  // column -> text not yet shown
    QTimer flush_;
    quint64 activeId_ = 0;
};

}  // namespace studio
