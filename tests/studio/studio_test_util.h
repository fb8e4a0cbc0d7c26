// Helpers for the studio's UI tests: an isolated settings/data location and
// a main window over the fake engine with a loaded fake model.
#pragma once
#include "chat_controller.h"
#include "engine_controller.h"
#include "fake_backend.h"
#include "main_window.h"

#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

namespace studiotest {

// Settings and data go to Qt's test locations, never the user's real ones.
inline void isolate(const char* app) {
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("AnyPrecTest"));
    QCoreApplication::setApplicationName(QString::fromLatin1(app));
    QSettings().clear();
}

inline studio::BackendFactory fakeFactory(studio::FakeBackendOptions o = {}) {
    return [o] { return std::make_unique<studio::FakeBackend>(o); };
}

// A window over the fake engine with `modelPath` loaded (anyprec unless it ends in
// .gguf); freshChat starts a new conversation instead of the restored one.
inline std::unique_ptr<studio::MainWindow> window(const QString& dataDir, studio::FakeBackendOptions o = {},
                                                  const QString& modelPath = QStringLiteral("/fake/SmolLM2-135M.anyprec.safetensors"),
                                                  bool freshChat = true) {
    studio::MainWindowOptions opt;
    opt.conversationsDir = dataDir + "/conversations";
    opt.perplexityCacheFile = dataDir + "/ppl.json";
    opt.autoLoad = false;
    auto w = std::make_unique<studio::MainWindow>(fakeFactory(o), opt);
    w->show();
    w->activateWindow();
    if (!QTest::qWaitForWindowActive(w.get())) qWarning("window not active: shortcuts may not fire");
    QSignalSpy loaded(w->engine(), &studio::EngineController::modelChanged);
    w->openModel(modelPath);
    if (!loaded.wait(5000)) qWarning("fake model did not load");
    // The window reopens the last conversation; most tests want an empty one.
    if (freshChat) w->chat()->newConversation();
    return w;
}

}  // namespace studiotest
