// Screenshots of speculative decoding and the auto width in the real app
// (real engine, the any-precision SmolLM2 checkpoint) for resources/screenshots.
// Run under Xvfb:
//   xvfb-run -a -s "-screen 0 1600x1000x24" studio_screenshots_speculative OUTDIR [MODEL]
// It answers once at plain 8 bits (the speed-up's baseline), once with
// speculative decoding (draft 4-bit, verify 8-bit) -> speculative.png, and once
// with the auto width -> auto-width.png.
#include "chat_controller.h"
#include "chat_panel.h"
#include "decode_mode_bar.h"
#include "engine_controller.h"
#include "main_window.h"
#include "precision_slider.h"
#include "real_backend.h"
#include "speed_plot.h"
#include "studio_paths.h"
#include "theme.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTest>

using namespace studio;

namespace {
QString outDir;
void shot(QWidget* w, const QString& name) {
    QApplication::processEvents();
    QTest::qWait(300);  // queued replots and the label timers
    const QString path = outDir + "/" + name;
    if (!w->grab().save(path)) qWarning() << "could not save" << path;
    else qInfo() << "wrote" << path;
}
bool answer(MainWindow& w, const QString& q) {
    if (!w.chat()->send(q)) return false;
    return QTest::qWaitFor([&] { return !w.chat()->isStreaming(); }, 300000);
}
}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QStandardPaths::setTestModeEnabled(true);  // never the user's settings
    QApplication::setOrganizationName("AnyPrecShots");
    QApplication::setApplicationName("AnyPrec Studio speculative");
    QSettings().clear();
    theme::apply(app);
    const QStringList args = app.arguments().mid(1);
    if (args.isEmpty()) {
        qCritical("usage: studio_screenshots_speculative OUTDIR [MODEL]");
        return 2;
    }
    outDir = args[0];
    QDir().mkpath(outDir);
    const QString model = args.size() > 1 ? args[1] : paths::defaultAnyPrecision();
    QTemporaryDir data;
    MainWindowOptions opt;
    opt.conversationsDir = data.filePath("conversations");
    opt.perplexityCacheFile = data.filePath("ppl.json");
    opt.autoLoad = false;
    MainWindow w([] { return makeRealBackend(); }, opt);
    w.resize(1480, 920);
    w.show();
    QSignalSpy loaded(w.engine(), &EngineController::modelChanged);
    w.openModel(model);
    if (!loaded.wait(300000) || !w.engine()->model().anyPrecision) {
        qCritical("needs an any-precision model");
        return 1;
    }
    SamplingSettings s;
    s.temperature = 0;  // greedy: the speculative text equals the plain 8-bit text
    s.maxTokens = 160;
    w.chat()->setSampling(s);
    DecodeModeBar* bar = w.chatPanel()->decodeMode();
    w.chatPanel()->precision()->setBits(8);

    // Plain 8-bit first: the measured baseline the speed-up is relative to.
    QSignalSpy finished(w.chat(), &ChatController::turnFinished);
    if (!answer(w, "Write a short poem about a lighthouse keeper.")) return 1;
    const double plainTps = finished.first().first().value<GenerationSummary>().decodeTokensPerSecond;
    qInfo() << "plain 8-bit" << plainTps << "tok/s";
    bar->speculativeBox()->setChecked(true);
    bar->draftCombo()->setCurrentIndex(bar->draftCombo()->findData(4));
    emit bar->draftCombo()->activated(bar->draftCombo()->currentIndex());
    if (!answer(w, "Now write it again, in the same words.")) return 1;
    for (int i = 0; i < w.plotTabs()->count(); ++i)
        if (w.plotTabs()->tabText(i) == QObject::tr("Speculation")) w.plotTabs()->setCurrentIndex(i);
    shot(&w, "speculative.png");

    bar->autoBox()->setChecked(true);
    // A target 8 bits cannot hold here but narrower widths can: the engine mixes them.
    bar->targetSpin()->setValue(qRound(plainTps * 1.4));
    w.chat()->newConversation();
    w.speedPlot()->clear();
    QSignalSpy tokens(w.engine(), &EngineController::tokenReady);
    w.chat()->send("Write a short story about a lighthouse keeper and a storm at sea.");
    // Mid-answer: the slider's auto stop shows the width of the last token.
    QTest::qWaitFor([&] { return tokens.count() >= 70 || !w.chat()->isStreaming(); }, 300000);
    w.plotTabs()->setCurrentIndex(0);
    shot(&w, "auto-width.png");
    QTest::qWaitFor([&] { return !w.chat()->isStreaming(); }, 300000);
    w.close();
    return 0;
}
