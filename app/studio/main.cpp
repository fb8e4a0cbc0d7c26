// AnyPrec Studio entry point: sets up the application identity (QSettings,
// data folder), the theme, and the engine (real, or scripted with --fake-engine).
#include "app_settings.h"
#include "fake_backend.h"
#include "main_window.h"
#include "real_backend.h"
#include "theme.h"

#include <QApplication>
#include <QCommandLineParser>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("AnyPrec"));
    QApplication::setApplicationName(QStringLiteral("AnyPrec Studio"));
    QApplication::setApplicationVersion(QStringLiteral(ANYPREC_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("io.github.anyprec.Studio"));

    QCommandLineParser cli;
    cli.setApplicationDescription(QStringLiteral("Any-precision LLM playground"));
    cli.addHelpOption();
    cli.addVersionOption();
    QCommandLineOption fake(QStringLiteral("fake-engine"), QStringLiteral("Use the scripted demo engine (no model needed)."));
    cli.addOption(fake);
    cli.addPositionalArgument(QStringLiteral("model"), QStringLiteral("Model to open (GGUF, Hugging Face folder or checkpoint)."), QStringLiteral("[model]"));
    cli.process(app);

    studio::theme::apply(app, studio::theme::modeFromKey(studio::AppSettings().themeMode()));
    studio::BackendFactory factory;
    studio::MainWindowOptions opt;
    if (cli.isSet(fake)) {
        factory = [] { return std::make_unique<studio::FakeBackend>(); };
    } else {
        factory = [] { return studio::makeRealBackend(); };
        opt.validator = studio::validateWithEngine;
    }
    const QStringList args = cli.positionalArguments();
    opt.autoLoad = args.isEmpty();
    studio::MainWindow w(factory, opt);
    w.show();
    if (!args.isEmpty()) w.openModel(args.first());
    return app.exec();
}
