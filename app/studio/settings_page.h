// The Settings tab: system prompt and sampling (SamplingPanel), the engine
// (threads, context length, KV cache: applied to the loaded model without a
// restart or reload) and the appearance (system / light / dark).
#pragma once
#include "studio_types.h"
#include "theme.h"

#include <QScrollArea>

class QCheckBox;
class QComboBox;
class QLabel;
class QPushButton;
class QSpinBox;

namespace studio {

class SamplingPanel;

class SettingsPage : public QScrollArea {
    Q_OBJECT
public:
    explicit SettingsPage(QWidget* parent = nullptr);

    SamplingPanel* sampling() const { return sampling_; }
    void setRuntime(const RuntimeSettings& r);  // the settings in force (no signal)
    RuntimeSettings runtime() const;            // what the form says
    void setModel(const ModelInfo& info);       // limits (training context) and what the engine uses now
    void setThemeMode(theme::Mode m);

    QSpinBox* threadsBox() const { return threads_; }
    QSpinBox* contextBox() const { return ctx_; }
    QCheckBox* reuseKvBox() const { return reuseKv_; }
    QCheckBox* kvInt8Box() const { return kvInt8_; }
    QString engineNote() const;
    QComboBox* codeCopyBox() const { return codeCopy_; }
    QPushButton* applyButton() const { return apply_; }
    QComboBox* themeBox() const { return theme_; }

signals:
    void runtimeRequested(const studio::RuntimeSettings& r);
    void themeRequested(studio::theme::Mode m);

private:
    void updateApply();

    SamplingPanel* sampling_ = nullptr;
    QSpinBox* threads_ = nullptr;
    QSpinBox* ctx_ = nullptr;
    QCheckBox* reuseKv_ = nullptr;
    QCheckBox* kvInt8_ = nullptr;
    QComboBox* codeCopy_ = nullptr;
    QPushButton* apply_ = nullptr;
    QLabel* engineNote_ = nullptr;
    QComboBox* theme_ = nullptr;
    RuntimeSettings applied_;
    ModelInfo info_;
};

}  // namespace studio
