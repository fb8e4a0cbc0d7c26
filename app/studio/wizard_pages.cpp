#include "wizard_pages.h"

#include "format_util.h"
#include "quantize_estimate.h"
#include "quantize_wizard.h"
#include "studio_paths.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>
#include <QStorageInfo>
#include <QVBoxLayout>

namespace studio {

namespace {
// A line edit with a Browse button; `pick` returns the chosen path or "".
QWidget* pathRow(QLineEdit*& edit, QWidget* parent, std::function<QString(const QString&)> pick,
                 const QString& second = {}, std::function<QString(const QString&)> pick2 = {}) {
    auto* w = new QWidget(parent);
    auto* h = new QHBoxLayout(w);
    h->setContentsMargins(0, 0, 0, 0);
    edit = new QLineEdit(w);
    h->addWidget(edit, 1);
    auto* b = new QPushButton(QObject::tr("Browse\u2026"), w);
    h->addWidget(b);
    QLineEdit* e = edit;
    QObject::connect(b, &QPushButton::clicked, w, [e, pick] {
        const QString p = pick(e->text());
        if (!p.isEmpty()) e->setText(p);
    });
    if (pick2) {
        auto* b2 = new QPushButton(second, w);
        h->addWidget(b2);
        QObject::connect(b2, &QPushButton::clicked, w, [e, pick2] {
            const QString p = pick2(e->text());
            if (!p.isEmpty()) e->setText(p);
        });
    }
    return w;
}

QLabel* explain(const QString& text, QWidget* parent) {
    auto* l = new QLabel(text, parent);
    l->setWordWrap(true);
    l->setObjectName(QStringLiteral("MessageMeta"));
    return l;
}
}  // namespace

// ---- CheckedPage ----------------------------------------------------------
CheckedPage::CheckedPage(QWidget* parent) : QWizardPage(parent) {
    error_ = new QLabel(this);
    error_->setWordWrap(true);
    error_->setStyleSheet(QStringLiteral("color:#c23a3a; font-weight:600;"));
    error_->setVisible(false);
}

QString CheckedPage::error() const { return error_->isHidden() ? QString() : error_->text(); }

bool CheckedPage::fail(const QString& message) {
    error_->setText(message);
    error_->setVisible(true);
    return false;
}

void CheckedPage::clearError() { error_->setVisible(false); }

// ---- SourcePage -----------------------------------------------------------
SourcePage::SourcePage(QWidget* parent) : CheckedPage(parent) {
    setTitle(tr("Source model"));
    setSubTitle(tr("The model to quantize: a GGUF file, a Hugging Face folder (config.json + *.safetensors) "
                   "or a safetensors file."));
    auto* v = new QVBoxLayout(this);
    v->addWidget(pathRow(
        path, this,
        [this](const QString& cur) {
            return QFileDialog::getOpenFileName(this, tr("Source model"), QFileInfo(cur).path(),
                                                tr("Models (*.gguf *.safetensors);;All files (*)"));
        },
        tr("Folder\u2026"),
        [this](const QString& cur) { return QFileDialog::getExistingDirectory(this, tr("Hugging Face folder"), cur); }));
    v->addWidget(explain(tr("A 4-bit source (like the default Q4_1 GGUF) is dequantized first; the result can be "
                            "no better than the source. Use fp16/bf16 weights when you have them."),
                         this));
    v->addStretch(1);
    v->addWidget(error_);
    path->setText(paths::defaultGguf());
    connect(path, &QLineEdit::textChanged, this, &CheckedPage::clearError);
}

bool SourcePage::validatePage() {
    const QString p = path->text().trimmed();
    if (p.isEmpty()) return fail(tr("Choose a source model."));
    const QFileInfo fi(p);
    if (!fi.exists()) return fail(tr("%1 does not exist.").arg(p));
    if (fi.isDir()) {
        if (!QFileInfo::exists(p + "/config.json")) return fail(tr("%1 has no config.json: not a Hugging Face model folder.").arg(p));
        if (QDir(p).entryList({QStringLiteral("*.safetensors")}, QDir::Files).isEmpty())
            return fail(tr("%1 has no *.safetensors weights.").arg(p));
    } else {
        const QString s = fi.suffix().toLower();
        if (s != QLatin1String("gguf") && s != QLatin1String("safetensors"))
            return fail(tr("%1 is not a .gguf or .safetensors file.").arg(fi.fileName()));
        if (fi.size() < 1024) return fail(tr("%1 is too small to be a model.").arg(fi.fileName()));
        if (!fi.isReadable()) return fail(tr("%1 cannot be read.").arg(p));
    }
    clearError();
    return true;
}

// ---- CalibrationPage -------------------------------------------------------
CalibrationPage::CalibrationPage(QWidget* parent) : CheckedPage(parent) {
    setTitle(tr("Calibration"));
    setSubTitle(tr("Text whose activations weight the clustering, and how many tokens of it to use."));
    auto* f = new QFormLayout(this);
    f->addRow(tr("Text"), pathRow(text, this, [this](const QString& cur) {
                  return QFileDialog::getOpenFileName(this, tr("Calibration text"), QFileInfo(cur).path(),
                                                      tr("Text (*.txt);;All files (*)"));
              }));
    tokens = new QSpinBox(this);
    tokens->setRange(0, kMaxTokens);
    tokens->setSingleStep(1024);
    tokens->setValue(16384);
    tokens->setSuffix(tr(" tokens"));
    f->addRow(tr("Token budget"), tokens);
    f->addRow(QString(), explain(tr("More tokens give better sensitivities but take longer. Calibrate on one text "
                                    "and evaluate on another (the Quality tab uses %1 by default).")
                                     .arg(QFileInfo(paths::defaultEvalText()).fileName()),
                                 this));
    f->addRow(error_);
    text->setText(paths::defaultCalibText());
    connect(text, &QLineEdit::textChanged, this, &CheckedPage::clearError);
}

bool CalibrationPage::validatePage() {
    const QFileInfo fi(text->text().trimmed());
    if (text->text().trimmed().isEmpty()) return fail(tr("Choose a calibration text."));
    if (!fi.isFile()) return fail(tr("%1 does not exist.").arg(fi.filePath()));
    if (fi.size() < 1024) return fail(tr("%1 is too short for calibration (%2 bytes).").arg(fi.fileName()).arg(fi.size()));
    if (tokens->value() < kMinTokens) return fail(tr("Use at least %1 calibration tokens.").arg(kMinTokens));
    // About 4 bytes per token in English: a budget far beyond the text cannot be met.
    if (tokens->value() > fi.size()) return fail(tr("%1 has only about %2 tokens; lower the budget.").arg(fi.fileName()).arg(fi.size() / 4));
    clearError();
    return true;
}

// ---- WidthsPage ------------------------------------------------------------
WidthsPage::WidthsPage(QWidget* parentW) : CheckedPage(parentW) {
    setTitle(tr("Widths and sensitivity"));
    setSubTitle(tr("Any-precision stores one parent; every width from the seed up is served from it."));
    auto* f = new QFormLayout(this);
    method = new QComboBox(this);
    method->addItem(tr("Any-precision (seed \u2192 parent)"), QStringLiteral("anyprec"));
    method->addItem(tr("Round-to-nearest, one width (baseline)"), QStringLiteral("rtn"));
    method->addItem(tr("Independent k-means, one width (baseline)"), QStringLiteral("kmeans"));
    f->addRow(tr("Method"), method);
    apRow_ = new QWidget(this);
    auto* h = new QHBoxLayout(apRow_);
    h->setContentsMargins(0, 0, 0, 0);
    seed = new QSpinBox(apRow_);
    seed->setRange(1, 8);
    seed->setValue(3);
    seed->setPrefix(tr("seed "));
    seed->setSuffix(tr(" bit"));
    parent = new QSpinBox(apRow_);
    parent->setRange(1, 8);
    parent->setValue(8);
    parent->setPrefix(tr("parent "));
    parent->setSuffix(tr(" bit"));
    h->addWidget(seed);
    h->addWidget(parent);
    h->addStretch(1);
    f->addRow(tr("Widths"), apRow_);
    singleRow_ = new QWidget(this);
    auto* sh = new QHBoxLayout(singleRow_);
    sh->setContentsMargins(0, 0, 0, 0);
    single = new QSpinBox(singleRow_);
    single->setRange(1, 8);
    single->setValue(4);
    single->setSuffix(tr(" bit"));
    sh->addWidget(single);
    sh->addStretch(1);
    f->addRow(tr("Width"), singleRow_);
    sensitivity = new QComboBox(this);
    sensitivity->addItem(tr("Activation second moment (from calibration)"), QStringLiteral("act"));
    sensitivity->addItem(tr("None (plain k-means)"), QStringLiteral("none"));
    f->addRow(tr("Sensitivity"), sensitivity);
    embeddings = new QCheckBox(tr("Quantize the embeddings and output head too"), this);
    embeddings->setChecked(true);
    f->addRow(QString(), embeddings);
    f->addRow(QString(), explain(tr("Small models pay a lot for tables (1008 bytes per row for 3..8 bits); a lower "
                                    "parent width saves memory."),
                                 this));
    f->addRow(error_);
    connect(method, &QComboBox::currentIndexChanged, this, &WidthsPage::updateVisibility);
    for (auto* s : {seed, parent, single}) connect(s, &QSpinBox::valueChanged, this, &CheckedPage::clearError);
    updateVisibility();
}

void WidthsPage::updateVisibility() {
    const bool ap = method->currentData().toString() == QLatin1String("anyprec");
    apRow_->setEnabled(ap);
    singleRow_->setEnabled(!ap);
    clearError();
}

bool WidthsPage::validatePage() {
    if (method->currentData().toString() == QLatin1String("anyprec")) {
        if (seed->value() < 2) return fail(tr("The seed width must be at least 2 bits."));
        if (parent->value() > 8) return fail(tr("The parent width can be at most 8 bits."));
        if (seed->value() >= parent->value())
            return fail(tr("The seed width (%1) must be below the parent width (%2).").arg(seed->value()).arg(parent->value()));
    } else if (single->value() < 2 || single->value() > 8) {
        return fail(tr("The width must be between 2 and 8 bits."));
    }
    clearError();
    return true;
}

// ---- OutputPage ------------------------------------------------------------
OutputPage::OutputPage(QuantizeWizard* wizard) : CheckedPage(wizard), wizard_(wizard) {
    setTitle(tr("Output"));
    setSubTitle(tr("Where to write the any-precision checkpoint."));
    auto* f = new QFormLayout(this);
    f->addRow(tr("File"), pathRow(path, this, [this](const QString& cur) {
                  return QFileDialog::getSaveFileName(this, tr("Checkpoint"), cur, tr("Safetensors (*.safetensors)"));
              }));
    overwrite = new QCheckBox(tr("Replace the file if it exists"), this);
    f->addRow(QString(), overwrite);
    estimate_ = new QLabel(this);
    estimate_->setObjectName(QStringLiteral("PrecisionValue"));
    f->addRow(tr("Estimated size"), estimate_);
    f->addRow(error_);
    connect(path, &QLineEdit::textChanged, this, [this] {
        clearError();
        updateEstimate();
    });
}

void OutputPage::initializePage() {
    const QuantizeSettings s = wizard_->settings();
    if (path->text().isEmpty()) {
        QFileInfo src(s.source);
        QString stem = src.isDir() ? src.fileName() : src.completeBaseName();
        stem.remove(QRegularExpression(QStringLiteral("\\.(Q\\d.*|F16|BF16|F32)$"), QRegularExpression::CaseInsensitiveOption));
        const QString suffix = s.method == QLatin1String("anyprec") ? QStringLiteral(".anyprec") : QStringLiteral(".%1-%2bit").arg(s.method).arg(s.bits);
        path->setText(QDir(paths::cacheDir() + "/models").filePath(stem + suffix + ".safetensors"));
    }
    updateEstimate();
}

void OutputPage::updateEstimate() {
    const QuantizeSettings s = wizard_->settings();
    const SizeEstimate e = estimateQuantizedSize(s, wizard_->engine()->model());
    QString text = e.bytes ? (e.exact ? QString() : QStringLiteral("\u2248 ")) + fmt::bytes(e.bytes) : tr("unknown");
    const QFileInfo dir(QFileInfo(s.output).absolutePath());
    if (e.bytes && dir.exists()) {
        const QStorageInfo st(dir.absoluteFilePath());
        if (st.isValid()) text += tr("  (%1 free)").arg(fmt::bytes(quint64(st.bytesAvailable())));
    }
    estimate_->setText(text);
}

bool OutputPage::validatePage() {
    const QuantizeSettings s = wizard_->settings();
    const QFileInfo fi(s.output);
    if (s.output.isEmpty()) return fail(tr("Choose where to write the checkpoint."));
    if (fi.suffix().toLower() != QLatin1String("safetensors")) return fail(tr("The checkpoint file must end in .safetensors."));
    if (fi.absoluteFilePath() == QFileInfo(s.source).absoluteFilePath()) return fail(tr("The output would overwrite the source model."));
    if (fi.isDir()) return fail(tr("%1 is a folder.").arg(s.output));
    const QFileInfo dir(fi.absolutePath());
    if (!dir.exists() && !QDir().mkpath(dir.absoluteFilePath())) return fail(tr("Cannot create the folder %1.").arg(dir.absoluteFilePath()));
    if (!QFileInfo(fi.absolutePath()).isWritable()) return fail(tr("The folder %1 is not writable.").arg(fi.absolutePath()));
    if (fi.exists() && !overwrite->isChecked()) return fail(tr("%1 exists; tick \u201cReplace\u201d or choose another name.").arg(fi.fileName()));
    const SizeEstimate e = estimateQuantizedSize(s, wizard_->engine()->model());
    const QStorageInfo st(fi.absolutePath());
    if (e.bytes && st.isValid() && quint64(st.bytesAvailable()) < e.bytes + (e.bytes >> 3))
        return fail(tr("Not enough free space: about %1 needed, %2 free.").arg(fmt::bytes(e.bytes), fmt::bytes(quint64(st.bytesAvailable()))));
    if (wizard_->validator()) {
        const QString err = wizard_->validator()(s);
        if (!err.isEmpty()) return fail(err);
    }
    clearError();
    return true;
}

// ---- RunPage ---------------------------------------------------------------
RunPage::RunPage(QuantizeWizard* wizard) : CheckedPage(wizard), wizard_(wizard) {
    setTitle(tr("Quantizing"));
    setSubTitle(tr("Cancel at any time: nothing half-written is left behind."));
    setCommitPage(true);  // no going back to change options of a run in progress
    setButtonText(QWizard::CommitButton, tr("Next"));
    auto* v = new QVBoxLayout(this);
    layer = new QLabel(this);
    layer->setObjectName(QStringLiteral("PrecisionTitle"));
    bar = new QProgressBar(this);
    bar->setRange(0, 1);
    bar->setValue(0);
    eta = new QLabel(this);
    eta->setObjectName(QStringLiteral("MessageMeta"));
    log = new QPlainTextEdit(this);
    log->setReadOnly(true);
    log->setMaximumBlockCount(2000);
    cancel = new QPushButton(tr("Cancel quantization"), this);
    cancel->setObjectName(QStringLiteral("Danger"));
    cancel->setEnabled(false);
    v->addWidget(layer);
    v->addWidget(bar);
    v->addWidget(eta);
    v->addWidget(log, 1);
    auto* h = new QHBoxLayout;
    h->addStretch(1);
    h->addWidget(cancel);
    v->addLayout(h);
    v->addWidget(error_);
    connect(cancel, &QPushButton::clicked, this, [this] {
        if (running_) wizard_->engine()->cancelQuantize();
    });
    connect(wizard_->engine(), &EngineController::quantizeProgress, this, &RunPage::onProgress);
    connect(wizard_->engine(), &EngineController::quantizeFinished, this, &RunPage::onFinished);
}

void RunPage::initializePage() {
    if (running_) return;
    const QuantizeSettings s = wizard_->settings();
    done_ = false;
    outcome_ = {};
    clearError();
    log->clear();
    log->appendPlainText(tr("Source: %1\nOutput: %2\nMethod: %3, widths %4..%5, sensitivity %6, %7 calibration tokens")
                             .arg(s.source, s.output, s.method)
                             .arg(s.method == QLatin1String("anyprec") ? s.seedBits : s.bits)
                             .arg(s.method == QLatin1String("anyprec") ? s.parentBits : s.bits)
                             .arg(s.sensitivity)
                             .arg(s.calibTokens));
    layer->setText(tr("Starting\u2026"));
    eta->clear();
    bar->setFormat(QStringLiteral("%p%"));
    bar->setRange(0, 0);  // busy until the first progress report
    wizard_->engine()->quantize(s);
    setRunning(true);
}

void RunPage::setRunning(bool on) {
    running_ = on;
    cancel->setEnabled(on);
    // QWizard disables Back exactly when the page before is a commit page,
    // and re-evaluates that whenever completeChanged is emitted.
    wizard_->outputPage()->setCommitPage(on);
    emit completeChanged();
}

void RunPage::onProgress(const QuantizeProgressInfo& p) {
    if (!running_) return;
    if (p.nSteps > 0) {
        bar->setRange(0, p.nSteps);
        bar->setValue(p.step);
        bar->setFormat(tr("%v / %m tensors"));
    }
    layer->setText(p.tensor.isEmpty() ? p.stage : tr("%1: %2").arg(p.stage, p.tensor));
    eta->setText(p.etaS >= 0 ? tr("%1 elapsed \u00b7 about %2 left").arg(fmt::seconds(p.elapsedS), fmt::seconds(p.etaS))
                             : tr("%1 elapsed").arg(fmt::seconds(p.elapsedS)));
    if (p.tensor != lastTensor_ && !p.tensor.isEmpty()) {
        log->appendPlainText(QStringLiteral("[%1/%2] %3 %4").arg(p.step).arg(p.nSteps).arg(p.stage, p.tensor));
        lastTensor_ = p.tensor;
    }
}

void RunPage::onFinished(const QuantizeOutcome& o) {
    if (!running_) return;
    outcome_ = o;
    // Progress figures of the run are stale now: no "0 / 1 tensors, about 29 s left".
    bar->setFormat(QStringLiteral("%p%"));
    bar->setRange(0, 1);
    eta->setText(tr("%1 in all").arg(fmt::seconds(o.seconds)));
    if (!o.error.isEmpty()) {
        bar->setValue(0);
        layer->setText(tr("Failed"));
        log->appendPlainText(tr("Error: %1").arg(o.error));
        fail(o.error);
    } else if (o.cancelled) {
        bar->setValue(0);
        layer->setText(tr("Cancelled"));
        log->appendPlainText(tr("Cancelled; no file was written."));
    } else {
        bar->setValue(1);
        done_ = true;
        layer->setText(tr("Done"));
        log->appendPlainText(tr("Wrote %1 (%2) in %3").arg(o.output, fmt::bytes(o.bytes), fmt::seconds(o.seconds)));
    }
    setRunning(false);
}

bool RunPage::isComplete() const { return done_; }

// ---- FinishPage ------------------------------------------------------------
FinishPage::FinishPage(QuantizeWizard* wizard) : QWizardPage(wizard), wizard_(wizard) {
    setTitle(tr("Finished"));
    auto* v = new QVBoxLayout(this);
    summary_ = new QLabel(this);
    summary_->setWordWrap(true);
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    openNow = new QCheckBox(tr("Open the new checkpoint now"), this);
    openNow->setChecked(true);
    v->addWidget(summary_);
    v->addWidget(openNow);
    v->addStretch(1);
}

void FinishPage::initializePage() {
    const QuantizeOutcome& o = wizard_->runPage()->outcome();
    summary_->setText(tr("The checkpoint is ready:\n%1\n%2, written in %3.").arg(o.output, fmt::bytes(o.bytes), fmt::seconds(o.seconds)));
}

}  // namespace studio
