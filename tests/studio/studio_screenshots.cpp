// Screenshot tour of the real app (real engine, real model) for
// resources/screenshots: chat mid-stream, plots, comparison, wizard.
// Run under Xvfb:  xvfb-run -s "-screen 0 1600x1000x24" studio_screenshots OUTDIR [MODEL]
// With --quantize CHECKPOINT the wizard really runs and the tour continues on
// the new any-precision model.
#include "chat_controller.h"
#include "chat_panel.h"
#include "comparison_view.h"
#include "engine_controller.h"
#include "main_window.h"
#include "about_dialog.h"
#include "settings_page.h"
#include "model_panel.h"
#include "precision_slider.h"
#include "quality_panel.h"
#include "quality_plot.h"
#include "quantize_wizard.h"
#include "real_backend.h"
#include "studio_paths.h"
#include "theme.h"
#include "wizard_pages.h"

#include <QApplication>
#include <QScrollBar>
#include <QCheckBox>
#include <QDir>
#include <QLineEdit>
#include <QProgressBar>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTest>

using namespace studio;

namespace {
QString outDir;
void shot(QWidget* w, const QString& name) {
    QApplication::processEvents();
    QTest::qWait(150);
    const QString path = outDir + "/" + name;
    if (!w->grab().save(path)) qWarning() << "could not save" << path;
    else qInfo() << "wrote" << path;
}
bool waitFor(const std::function<bool()>& f, int ms) { return QTest::qWaitFor(f, ms); }
}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QStandardPaths::setTestModeEnabled(true);  // the tour never touches the user's settings
    QApplication::setOrganizationName("AnyPrecShots");
    QApplication::setApplicationName("AnyPrec Studio");
    QSettings().clear();
    theme::apply(app);
    QStringList args = app.arguments().mid(1);
    QString quantizeTo;
    // --features: only the shots of issue 15's features (Markdown chat at
    // 1600x1000 and 1024x700, the model panel, the dark theme).
    const bool featuresOnly = args.removeAll("--features") > 0;
    if (int i = args.indexOf("--quantize"); i >= 0 && i + 1 < args.size()) {
        quantizeTo = args[i + 1];
        args.remove(i, 2);
    }
    if (args.isEmpty()) {
        qCritical("usage: studio_screenshots OUTDIR [MODEL] [--quantize CHECKPOINT]");
        return 2;
    }
    outDir = args[0];
    QDir().mkpath(outDir);
    QString model = args.size() > 1 ? args[1] : paths::defaultGguf();
    QTemporaryDir data;

    MainWindowOptions opt;
    opt.conversationsDir = data.filePath("conversations");
    opt.perplexityCacheFile = data.filePath("ppl.json");
    opt.autoLoad = false;
    opt.validator = validateWithEngine;
    MainWindow w([] { return makeRealBackend(); }, opt);
    w.resize(1480, 920);
    w.show();
    QSignalSpy loaded(w.engine(), &EngineController::modelChanged);
    w.openModel(model);
    if (!loaded.wait(300000)) return 1;

    if (featuresOnly) {
        SamplingSettings s;
        s.maxTokens = 150;
        s.temperature = 0.2;
        w.chat()->setSampling(s);
        w.resize(1600, 1000);
        const ModelInfo& info = w.engine()->model();
        if (info.anyPrecision) w.chatPanel()->precision()->setBits(8);
        // A list with bold words, then code: what the Markdown view renders.
        for (const char* prompt : {"Give me three tips for writing clean Python code as a Markdown list with **bold** key "
                                   "words, then a short code example in a fenced code block.",
                                   "Write a Python function that checks whether a number is prime, in a fenced code block."}) {
            w.chat()->send(QString::fromLatin1(prompt));
            waitFor([&] { return !w.chat()->isStreaming(); }, 600000);
        }
        w.plotTabs()->setCurrentWidget(w.modelPanel());
        shot(&w, "chat-markdown-1600.png");
        w.resize(1024, 700);
        w.plotTabs()->setCurrentIndex(0);
        shot(&w, "chat-markdown-1024.png");
        w.resize(1600, 1000);
        w.plotTabs()->setCurrentWidget(w.modelPanel());
        shot(w.modelPanel(), "model-panel.png");
        w.plotTabs()->setCurrentWidget(w.settingsPage());
        w.settingsPage()->verticalScrollBar()->setValue(w.settingsPage()->verticalScrollBar()->maximum());
        shot(w.plotTabs(), "settings.png");
        AboutDialog* about = w.showAbout();
        shot(about, "about.png");
        about->close();
        w.setThemeMode(theme::Mode::Dark);
        w.plotTabs()->setCurrentIndex(1);  // Memory
        shot(&w, "dark-theme-1600.png");
        w.resize(1024, 700);
        w.plotTabs()->setCurrentWidget(w.modelPanel());
        shot(&w, "dark-theme-1024.png");
        w.setThemeMode(theme::Mode::Light);
        w.close();
        return 0;
    }

    // ---- wizard (run page mid-run; finishes when --quantize is given)
    {
        QuantizeWizard* wiz = w.openWizard();
        wiz->resize(760, 560);
        wiz->sourcePage()->path->setText(paths::defaultGguf());
        wiz->calibrationPage()->tokens->setValue(4096);
        const QString out = quantizeTo.isEmpty() ? data.filePath("tour.anyprec.safetensors") : quantizeTo;
        wiz->outputPage()->path->setText(out);
        wiz->outputPage()->overwrite->setChecked(true);
        wiz->next();
        wiz->next();
        shot(wiz, "wizard-widths.png");
        wiz->next();
        shot(wiz, "wizard-output.png");
        wiz->next();
        waitFor([&] { return wiz->runPage()->bar->value() >= 3 || wiz->runPage()->isComplete(); }, 600000);
        shot(wiz, "wizard-running.png");
        if (quantizeTo.isEmpty()) {
            wiz->reject();
            waitFor([&] { return !wiz->isVisible(); }, 60000);
        } else {
            waitFor([&] { return wiz->runPage()->isComplete() || !wiz->runPage()->running(); }, 3600000);
            if (!wiz->runPage()->isComplete()) return 1;
            wiz->next();
            shot(wiz, "wizard-finished.png");
            loaded.clear();
            wiz->accept();  // "Open the new checkpoint now"
            if (!loaded.wait(300000)) return 1;
        }
    }

    const ModelInfo& info = w.engine()->model();
    SamplingSettings s;
    s.maxTokens = 160;
    s.temperature = 0.7;
    w.chat()->setSampling(s);
    PrecisionSlider* slider = w.chatPanel()->precision();

    // ---- chat: a finished answer, then one mid-stream (with a width switch)
    if (info.anyPrecision) slider->setBits(info.seedBits);
    w.chat()->send("In two sentences, why do smaller numbers of bits make a language model faster?");
    waitFor([&] { return !w.chat()->isStreaming(); }, 300000);
    if (info.anyPrecision) slider->setBits(info.parentBits);
    w.chat()->send("Write a short poem about a lighthouse keeper.");
    QSignalSpy tokens(w.engine(), &EngineController::tokenReady);
    waitFor([&] { return tokens.count() >= 25 || !w.chat()->isStreaming(); }, 300000);
    if (info.anyPrecision) slider->slider()->setValue(4);  // mid-answer: the next token is 4-bit
    waitFor([&] { return tokens.count() >= 45 || !w.chat()->isStreaming(); }, 300000);
    w.plotTabs()->setCurrentIndex(0);
    shot(&w, "chat-streaming.png");
    waitFor([&] { return !w.chat()->isStreaming(); }, 300000);

    // ---- plots
    if (info.anyPrecision) {
        for (int b : {5, 6, 7}) {
            slider->setBits(b);
            w.chat()->send(QStringLiteral("Name three colours (%1-bit run).").arg(b));
            waitFor([&] { return !w.chat()->isStreaming(); }, 300000);
        }
    }
    w.plotTabs()->setCurrentIndex(0);
    shot(&w, "plots-speed.png");
    w.plotTabs()->setCurrentIndex(1);
    shot(&w, "plots-memory.png");
    w.plotTabs()->setCurrentIndex(2);
    w.quality()->setWindows(2);
    w.quality()->setTextPath(paths::defaultEvalText());
    QSignalSpy pplDone(w.engine(), &EngineController::perplexityFinished);
    w.quality()->measure();
    waitFor([&] { return pplDone.count() > 0; }, 1800000);
    shot(&w, "plots-quality.png");
    w.quality()->plot()->setScatterVisible(true);
    shot(&w, "plots-speed-vs-quality.png");
    w.quality()->plot()->setScatterVisible(false);

    // ---- comparison
    w.centerTabs()->setCurrentIndex(1);
    if (info.anyPrecision) {
        w.comparison()->setSelectedWidths({3, 4, 8});
        w.comparison()->setPrompt("Explain what a lighthouse does, briefly.");
        QSignalSpy ct(w.engine(), &EngineController::compareToken);
        w.comparison()->run();
        waitFor([&] { return ct.count() >= 60 || !w.comparison()->isRunning(); }, 300000);
        shot(&w, "compare-streaming.png");
        waitFor([&] { return !w.comparison()->isRunning(); }, 300000);
        shot(&w, "compare-finished.png");
    } else {
        shot(&w, "compare.png");
    }
    w.close();
    return 0;
}
