// Typed settings: values round-trip, defaults apply, recent models stay
// unique and bounded, window geometry is restored by a new window.
#include "app_settings.h"
#include "studio_test_util.h"

using namespace studio;

class TestStudioSettings : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

private slots:
    void initTestCase() { studiotest::isolate("test_studio_settings"); }

    void defaultsAndRoundTrip() {
        AppSettings s;
        QCOMPARE(s.sampling(), SamplingSettings{});
        QCOMPARE(s.preferredBits(), 0);
        SamplingSettings x;
        x.temperature = 0.2;
        x.topK = 7;
        x.topP = 0.5;
        x.minP = 0.1;
        x.repeatPenalty = 1.3;
        x.maxTokens = 99;
        x.seed = 1234;
        s.setSampling(x);
        QCOMPARE(AppSettings().sampling(), x);
        s.setCompareWidths({3, 5, 8});
        QCOMPARE(s.compareWidths(), (QList<int>{3, 5, 8}));
    }

    void recentModelsUniqueAndBounded() {
        AppSettings s;
        for (int i = 0; i < AppSettings::kMaxRecent + 3; ++i) s.addRecentModel(QStringLiteral("/m%1").arg(i));
        s.addRecentModel(QStringLiteral("/m5"));
        const QStringList r = s.recentModels();
        QCOMPARE(r.size(), AppSettings::kMaxRecent);
        QCOMPARE(r.first(), QStringLiteral("/m5"));
        QCOMPARE(r.count(QStringLiteral("/m5")), 1);
    }

    void windowRestoresGeometryAndLastModel() {
        QSize size;
        {
            auto w = studiotest::window(dir_.path());
            w->resize(1111, 777);
            size = w->size();
            w->close();  // saves geometry
        }
        AppSettings s;
        QVERIFY(!s.windowGeometry().isEmpty());
        QCOMPARE(s.lastModel(), QStringLiteral("/fake/SmolLM2-135M.anyprec.safetensors"));
        MainWindowOptions opt;
        opt.conversationsDir = dir_.filePath("conversations");
        opt.perplexityCacheFile = dir_.filePath("ppl.json");
        opt.autoLoad = true;
        MainWindow w2(studiotest::fakeFactory(), opt);
        QCOMPARE(w2.size(), size);
        // autoLoad opens the last model (the fake engine accepts any path).
        QSignalSpy loaded(w2.engine(), &EngineController::modelChanged);
        if (w2.engine()->model().path.isEmpty()) QVERIFY(loaded.wait(5000) || !w2.engine()->model().path.isEmpty());
    }
};

QTEST_MAIN(TestStudioSettings)
#include "test_studio_settings.moc"
