// Features of issue 15 beyond the defects: the About box, the dark theme
// (forced, and following the system), engine settings applied without a
// restart, the model panel, and the conversation's context usage with its
// rule for a full context.
#include "about_dialog.h"
#include "chat_panel.h"
#include "chat_view.h"
#include "engine_worker.h"
#include "message_widget.h"
#include "model_panel.h"
#include "settings_page.h"
#include "speed_plot.h"
#include "studio_test_util.h"
#include "theme.h"

#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <qcustomplot.h>

using namespace studio;

class TestStudioFeatures : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

private slots:
    void initTestCase() { studiotest::isolate("test_studio_features"); }

    void aboutNamesVersionLicenceAndPaper() {
        auto w = studiotest::window(dir_.path());
        AboutDialog* d = w->showAbout();
        const QString t = d->text();
        QVERIFY(!AboutDialog::version().isEmpty());
        QVERIFY(t.contains(AboutDialog::version()));
        QVERIFY(t.contains("GPL-3.0-or-later"));
        QVERIFY(t.contains("Park"));
        QVERIFY(t.contains("Any-Precision LLM: Low-Cost Deployment of Multiple, Different-Sized LLMs"));
        QVERIFY(t.contains("ICML 2024"));
        d->close();
    }

    void darkThemeCanBeForcedAndFollowsTheSystem() {
        auto w = studiotest::window(dir_.path());
        auto* app = qobject_cast<QApplication*>(QCoreApplication::instance());
        w->setThemeMode(theme::Mode::Dark);
        QVERIFY(theme::isDark());
        QVERIFY(app->palette().color(QPalette::Window).lightness() < 60);
        QVERIFY(app->palette().color(QPalette::WindowText).lightness() > 180);
        QCOMPARE(AppSettings().themeMode(), QStringLiteral("dark"));
        QCOMPARE(w->settingsPage()->themeBox()->currentData().toInt(), int(theme::Mode::Dark));
        // Plots repaint in the theme's colours (QCustomPlot does not use the palette).
        QTRY_VERIFY(w->speedPlot()->plot()->axisRect()->backgroundBrush().color().lightness() < 80);
        w->setThemeMode(theme::Mode::Light);
        QVERIFY(!theme::isDark());
        QVERIFY(app->palette().color(QPalette::Window).lightness() > 200);
        QTRY_VERIFY(w->speedPlot()->plot()->axisRect()->backgroundBrush().color().lightness() > 200);
        // "System" follows what the desktop says (GTK's dark variant here).
        qputenv("GTK_THEME", "Adwaita:dark");
        w->setThemeMode(theme::Mode::System);
        QVERIFY(theme::systemPrefersDark());
        QVERIFY(theme::isDark());
        qputenv("GTK_THEME", "Adwaita");
        QCoreApplication::sendEvent(qApp, new QEvent(QEvent::ThemeChange));  // the desktop switched back
        QTRY_VERIFY(!theme::isDark());
        qunsetenv("GTK_THEME");
        w->setThemeMode(theme::Mode::Light);
    }

    void engineSettingsApplyWithoutReload() {
        auto w = studiotest::window(dir_.path());
        SettingsPage* p = w->settingsPage();
        QSignalSpy loaded(w->engine(), &EngineController::modelChanged);
        QSignalSpy applied(w->engine(), &EngineController::runtimeChanged);
        QVERIFY(!p->applyButton()->isEnabled());
        p->contextBox()->setValue(4096);
        p->threadsBox()->setValue(2);
        p->reuseKvBox()->setChecked(false);
        p->kvInt8Box()->setChecked(true);
        QCOMPARE(CodeCopy(p->codeCopyBox()->currentData().toInt()), CodeCopy::Auto);  // the default
        p->codeCopyBox()->setCurrentIndex(p->codeCopyBox()->findData(int(CodeCopy::Always)));
        QVERIFY(p->applyButton()->isEnabled());
        p->applyButton()->click();
        QVERIFY(applied.wait(3000));
        QCOMPARE(loaded.count(), 0);  // no reload
        QCOMPARE(w->engine()->model().nCtx, 4096);
        QCOMPARE(w->engine()->model().threads, 2);
        QCOMPARE(AppSettings().runtime().nCtx, 4096);
        QVERIFY(!AppSettings().runtime().reuseKv);
        QVERIFY(AppSettings().runtime().kvInt8);
        QCOMPARE(AppSettings().runtime().codeCopy, CodeCopy::Always);
        QVERIFY2(p->engineNote().contains("Code copy from 3 bits"), qPrintable(p->engineNote()));
        p->codeCopyBox()->setCurrentIndex(p->codeCopyBox()->findData(int(CodeCopy::Never)));
        p->applyButton()->click();
        QVERIFY(applied.wait(3000));
        QVERIFY2(p->engineNote().contains("No code copy."), qPrintable(p->engineNote()));
        // A model whose copies would not all fit: the note says how much of it keeps one.
        ModelInfo partial = w->engine()->model();
        partial.copyFrom = 3;
        partial.copyShare = 0.58;
        partial.copyMaxBytes = 599ull << 20;
        p->setModel(partial);
        QVERIFY2(p->engineNote().contains("for the largest matrices (58% of the weights"), qPrintable(p->engineNote()));
        p->setModel(w->engine()->model());
        QVERIFY(w->modelPanel()->plainText().contains("4096 tokens"));
        QVERIFY(!p->applyButton()->isEnabled());
        // A new window starts with them.
        auto w2 = studiotest::window(dir_.path());
        QCOMPARE(w2->engine()->model().nCtx, 4096);
        QCOMPARE(w2->settingsPage()->contextBox()->value(), 4096);
        AppSettings().setRuntime(RuntimeSettings{});
    }

    void modelPanelShowsWhatTheEngineReports() {
        auto w = studiotest::window(dir_.path());
        const QString t = w->modelPanel()->plainText();
        for (const char* s : {"llama", "134.5 M", "Layers", "30", "Vocabulary", "chatml", "im_start", "byte-level BPE",
                              "Provenance", "SmolLM2-135M-Instruct.Q4_1.gguf", "wikitext2-train.txt", "16,384",
                              "Trained for", "8192 tokens", "3-bit", "8-bit", "Bits/weight"})
            QVERIFY2(t.contains(QLatin1String(s)), s);
    }

    void fitToContextDropsOldestPairs() {
        QList<ChatTurn> turns{{"system", "sys"}, {"user", "q1"}, {"assistant", "a1"}, {"user", "q2"},
                              {"assistant", "a2"}, {"user", "q3"}};
        auto count = [](const QList<ChatTurn>& t) { return int(t.size()) * 10; };
        QList<ChatTurn> t = turns;
        QCOMPARE(fitToContext(t, 100, 0, count), 0);
        QCOMPARE(t.size(), 6);
        t = turns;
        QCOMPARE(fitToContext(t, 45, 0, count), 2);  // q1+a1 go, together
        QCOMPARE(t.first().content, QStringLiteral("sys"));
        QCOMPARE(t[1].content, QStringLiteral("q2"));
        t = turns;
        QCOMPARE(fitToContext(t, 5, 0, count), 4);  // never the system prompt or the new question
        QCOMPARE(t.size(), 2);
        QCOMPARE(t.last().content, QStringLiteral("q3"));
    }

    void contextUsageIsShownAndAFullContextDropsTheOldest() {
        FakeBackendOptions o;
        o.msPerTokenAt8 = 1;
        o.script = {"An", " answer", " of", " five", " tokens"};
        auto w = studiotest::window(dir_.path(), o);
        QLabel* label = w->chatPanel()->contextLabel();
        QTRY_VERIFY(label->text().contains("/ 2048 tokens"));
        ChatController* chat = w->chat();
        QVERIFY(chat->send(QStringLiteral("first question")));
        QVERIFY(QTest::qWaitFor([&] { return !chat->isStreaming(); }, 5000));
        const int used = chat->contextTokens();
        QVERIFY(used > 5);
        QVERIFY(label->text().contains(QStringLiteral("%1 / 2048").arg(used)));
        // A small context: 256 tokens, answers get at most max tokens (here 64).
        SamplingSettings s = chat->sampling();
        s.maxTokens = 64;
        chat->setSampling(s);
        RuntimeSettings r;
        r.nCtx = 256;
        QSignalSpy applied(w->engine(), &EngineController::runtimeChanged);
        w->engine()->configure(r);
        QVERIFY(applied.wait(3000));
        const QString longText = QString("word ").repeated(120);  // ~154 fake tokens each
        for (int i = 0; i < 3; ++i) {
            QVERIFY(chat->send(longText + QString::number(i)));
            QVERIFY(QTest::qWaitFor([&] { return !chat->isStreaming(); }, 5000));
        }
        // The oldest messages were left out, and the chat says so where it happened.
        const int start = chat->model()->conversation().contextStart;
        QVERIFY(start >= 2);
        ChatView* view = w->chatPanel()->view();
        QVERIFY(view->bubble(start)->contextNote().contains("left out"));
        QVERIFY(view->bubble(0)->findChild<QLabel*>(QStringLiteral("MessageRole"))->text().contains("not in context"));
        QVERIFY(label->text().contains("left out") || label->text().contains("full"));
        QVERIFY(chat->contextTokens() <= 256);
        // And the file remembers it.
        ConversationStore store(dir_.filePath("conversations"));
        QCOMPARE(store.load(chat->model()->conversation().id)->contextStart, start);
        w->engine()->configure(RuntimeSettings{});
    }
};

QTEST_MAIN(TestStudioFeatures)
#include "test_studio_features.moc"
