// The pages of the quantization wizard. Every page checks its own input in
// validatePage() and says what is wrong on the page itself, so a bad choice
// is caught where it is made, not when the job fails.
#pragma once
#include "studio_types.h"

#include <QWizardPage>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace studio {

class QuantizeWizard;

// Base: an error line at the bottom of the page.
class CheckedPage : public QWizardPage {
    Q_OBJECT
public:
    explicit CheckedPage(QWidget* parent = nullptr);
    QString error() const;
    void clearError();

protected:
    bool fail(const QString& message);  // shows it, returns false
    QLabel* error_ = nullptr;
};

class SourcePage : public CheckedPage {
    Q_OBJECT
public:
    explicit SourcePage(QWidget* parent = nullptr);
    QLineEdit* path = nullptr;
    bool validatePage() override;
};

class CalibrationPage : public CheckedPage {
    Q_OBJECT
public:
    static constexpr int kMinTokens = 256, kMaxTokens = 4 * 1024 * 1024;
    explicit CalibrationPage(QWidget* parent = nullptr);
    QLineEdit* text = nullptr;
    QSpinBox* tokens = nullptr;
    bool validatePage() override;
};

class WidthsPage : public CheckedPage {
    Q_OBJECT
public:
    explicit WidthsPage(QWidget* parent = nullptr);
    QComboBox* method = nullptr;
    QSpinBox* seed = nullptr;
    QSpinBox* parent = nullptr;
    QSpinBox* single = nullptr;
    QComboBox* sensitivity = nullptr;
    QCheckBox* embeddings = nullptr;
    bool validatePage() override;
private:
    void updateVisibility();
    QWidget* apRow_ = nullptr;
    QWidget* singleRow_ = nullptr;
};

class OutputPage : public CheckedPage {
    Q_OBJECT
public:
    explicit OutputPage(QuantizeWizard* wizard);
    QLineEdit* path = nullptr;
    QCheckBox* overwrite = nullptr;
    void initializePage() override;
    bool validatePage() override;
    void updateEstimate();
private:
    QuantizeWizard* wizard_;
    QLabel* estimate_ = nullptr;
};

class RunPage : public CheckedPage {
    Q_OBJECT
public:
    explicit RunPage(QuantizeWizard* wizard);
    void initializePage() override;
    bool isComplete() const override;
    bool running() const { return running_; }
    void onProgress(const QuantizeProgressInfo& p);
    void onFinished(const QuantizeOutcome& o);
    const QuantizeOutcome& outcome() const { return outcome_; }
    QProgressBar* bar = nullptr;
    QPlainTextEdit* log = nullptr;
    QLabel* layer = nullptr;
    QLabel* eta = nullptr;
    QPushButton* cancel = nullptr;  // enabled only while a run is in progress
private:
    void setRunning(bool on);  // Cancel and the wizard's Back button follow the run
    QuantizeWizard* wizard_;
    bool running_ = false, done_ = false;
    QString lastTensor_;
    QuantizeOutcome outcome_;
};

class FinishPage : public QWizardPage {
    Q_OBJECT
public:
    explicit FinishPage(QuantizeWizard* wizard);
    void initializePage() override;
    QCheckBox* openNow = nullptr;
private:
    QuantizeWizard* wizard_;
    QLabel* summary_ = nullptr;
};

}  // namespace studio
