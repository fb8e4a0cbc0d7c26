// Status bar contents: model, device, current width, tokens/s, time to first
// token, memory, and a progress bar while a model loads. Live numbers are
// repainted at most a few times a second.
#pragma once
#include "studio_types.h"

#include <QTimer>
#include <QWidget>

class QLabel;
class QProgressBar;
class QStatusBar;

namespace studio {

class StatusPanel : public QObject {
    Q_OBJECT
public:
    explicit StatusPanel(QStatusBar* bar);

    void setModel(const ModelInfo& info);
    void setBits(int bits);
    void setLiveStats(const TokenStats& s);   // coalesced
    void setSummary(const GenerationSummary& s);
    void setRuntimeMemory(quint64 kvBytes, quint64 activationBytes, quint64 copyBytes);
    void setLoading(bool on, double fraction = 0, const QString& what = {});
    QString text() const;  // all fields, for tests

private:
    void repaint();
    QLabel* model_;
    QLabel* device_;
    QLabel* width_;
    QLabel* speed_;
    QLabel* ttft_;
    QLabel* memory_;
    QProgressBar* progress_;
    ModelInfo info_;
    TokenStats live_;
    bool dirty_ = false;
    QTimer timer_;
};

}  // namespace studio
