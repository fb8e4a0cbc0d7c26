// System prompt and sampling settings (temperature, top-k, top-p, min-p,
// repetition penalty, max tokens, seed) as a form.
#pragma once
#include "studio_types.h"

#include <QWidget>

class QDoubleSpinBox;
class QPlainTextEdit;
class QSpinBox;

namespace studio {

class SamplingPanel : public QWidget {
    Q_OBJECT
public:
    explicit SamplingPanel(QWidget* parent = nullptr);

    void setSampling(const SamplingSettings& s);
    SamplingSettings sampling() const;
    void setSystemPrompt(const QString& p);
    QString systemPrompt() const;

signals:
    void samplingChanged(const studio::SamplingSettings& s);
    void systemPromptChanged(const QString& prompt);

private:
    QPlainTextEdit* system_ = nullptr;
    QDoubleSpinBox* temperature_ = nullptr;
    QSpinBox* topK_ = nullptr;
    QDoubleSpinBox* topP_ = nullptr;
    QDoubleSpinBox* minP_ = nullptr;
    QDoubleSpinBox* repeat_ = nullptr;
    QSpinBox* maxTokens_ = nullptr;
    QSpinBox* seed_ = nullptr;
    bool loading_ = false;
};

}  // namespace studio
