// Conversations: JSON round trip, atomic saving, the auto-saved chat
// reloading in a new window (as after a crash or restart), the sidebar list.
#include "conversation_sidebar.h"

#include <QInputDialog>
#include <QJsonDocument>
#include <QLineEdit>
#include <QToolButton>
#include "chat_panel.h"
#include "chat_view.h"
#include "message_widget.h"
#include <QListView>
#include <QMenu>
#include "conversation_store.h"
#include "studio_test_util.h"

#include <QFile>

using namespace studio;

class TestStudioConversations : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

private slots:
    void initTestCase() { studiotest::isolate("test_studio_conversations"); }

    void jsonRoundTrip() {
        Conversation c = Conversation::create();
        c.title = "T";
        c.systemPrompt = "Be brief.";
        c.modelPath = "/m.safetensors";
        Message u;
        u.role = "user";
        u.text = "Hi \u00e9\u4e2d";
        Message a;
        a.role = "assistant";
        a.text = "Hello\nthere";
        a.widths = {8, 4};
        a.nTokens = 12;
        a.tokensPerSecond = 42.5;
        a.ttftS = 0.25;
        a.reason = StopReason::Cancelled;
        c.messages = {u, a};
        const Conversation r = Conversation::fromJson(c.toJson());
        QCOMPARE(r.id, c.id);
        QCOMPARE(r.systemPrompt, c.systemPrompt);
        QCOMPARE(r.messages.size(), 2);
        QCOMPARE(r.messages[0].text, u.text);
        QCOMPARE(r.messages[1].widths, a.widths);
        QCOMPARE(r.messages[1].nTokens, 12);
        QCOMPARE(r.messages[1].reason, StopReason::Cancelled);
        QCOMPARE(r.turns().first().role, QStringLiteral("system"));
        QCOMPARE(r.turns().size(), 3);
    }

    void storeSavesListsAndSurvivesGarbage() {
        ConversationStore store(dir_.filePath("store"));
        Conversation c = Conversation::create();
        c.title = "Saved";
        QVERIFY(store.save(c));
        // A foreign or broken file in the folder is skipped, not fatal.
        QFile junk(store.dir() + "/broken.json");
        QVERIFY(junk.open(QIODevice::WriteOnly));
        junk.write("{ not json");
        junk.close();
        const auto list = store.list();
        QCOMPARE(list.size(), 1);
        QCOMPARE(list.first().title, QStringLiteral("Saved"));
        // No temporary files are left after saving.
        QCOMPARE(QDir(store.dir()).entryList(QDir::Files).size(), 2);
        QVERIFY(store.remove(c.id));
        QCOMPARE(store.list().size(), 0);
    }

    void savedConversationReloads() {
        FakeBackendOptions o;
        o.script = {"Reloaded", " answer"};
        o.msPerTokenAt8 = 2;
        QString id;
        {
            auto w = studiotest::window(dir_.path(), o);
            QVERIFY(w->chat()->send(QStringLiteral("Remember me")));
            QVERIFY(QTest::qWaitFor([&] { return !w->chat()->isStreaming(); }, 5000));
            id = w->chat()->model()->conversation().id;
            // Saved automatically, without closing the window.
            ConversationStore store(dir_.filePath("conversations"));
            const auto c = store.load(id);
            QVERIFY(c.has_value());
            QCOMPARE(c->messages.size(), 2);
            QCOMPARE(c->messages[1].text, QStringLiteral("Reloaded answer"));
            QCOMPARE(w->findChild<ConversationSidebar*>()->model()->rowCount(), 1);
        }
        // A new window (as after a restart) reopens the last conversation.
        auto w2 = studiotest::window(dir_.path(), o, QStringLiteral("/fake/m.anyprec.safetensors"), false);
        QCOMPARE(w2->chat()->model()->conversation().id, id);
        QCOMPARE(w2->chat()->model()->rowCount(), 2);
        QCOMPARE(w2->chat()->model()->message(0).text, QStringLiteral("Remember me"));
        QCOMPARE(w2->chat()->model()->message(1).widths, QList<int>{8});
        // New chat, then reopen the old one from the store.
        w2->chat()->newConversation();
        QCOMPARE(w2->chat()->model()->rowCount(), 0);
        QVERIFY(w2->chat()->openConversation(id));
        QCOMPARE(w2->chat()->model()->rowCount(), 2);
    }

    // Issue 15, defect 9: the context menu acted on the item under the mouse
    // while the open conversation stayed highlighted; no way to rename.
    void sidebarMenuHighlightsItsTargetAndRenames() {
        QTemporaryDir data;
        FakeBackendOptions o;
        o.script = {"ok"};
        o.msPerTokenAt8 = 1;
        auto w = studiotest::window(data.path(), o);
        ChatController* chat = w->chat();
        QVERIFY(chat->send(QStringLiteral("first chat")));
        QVERIFY(QTest::qWaitFor([&] { return !chat->isStreaming(); }, 5000));
        const QString firstId = chat->model()->conversation().id;
        chat->newConversation();
        QVERIFY(chat->send(QStringLiteral("second chat")));
        QVERIFY(QTest::qWaitFor([&] { return !chat->isStreaming(); }, 5000));
        const QString openId = chat->model()->conversation().id;
        auto* side = w->findChild<ConversationSidebar*>();
        QListView* list = side->list();
        const int firstRow = side->model()->rowOf(firstId);
        QVERIFY(firstRow >= 0);
        QCOMPARE(list->currentIndex().row(), side->model()->rowOf(openId));
        const QPoint pos = list->visualRect(side->model()->index(firstRow)).center();

        // While the menu is open, the item it acts on is the highlighted one.
        int highlighted = -1;
        QTimer::singleShot(200, [&] {
            highlighted = list->currentIndex().row();
            auto* menu = qobject_cast<QMenu*>(QApplication::activePopupWidget());
            QVERIFY(menu);
            QAction* rename = nullptr;
            for (QAction* a : menu->actions())
                if (a->text().contains("Rename")) rename = a;
            QVERIFY(rename);
            // The rename dialog opens once the menu has closed.
            QTimer::singleShot(200, [] {
                auto* dlg = qobject_cast<QInputDialog*>(QApplication::activeModalWidget());
                QVERIFY(dlg);
                dlg->setTextValue(QStringLiteral("Renamed by the user"));
                dlg->accept();
            });
            menu->setActiveAction(rename);
            QTest::keyClick(menu, Qt::Key_Return);
        });
        side->showContextMenu(pos);
        QCOMPARE(highlighted, firstRow);
        // Afterwards the open conversation is highlighted again.
        QTRY_COMPARE(list->currentIndex().data(ConversationListModel::IdRole).toString(), openId);
        ConversationStore store(data.filePath("conversations"));
        QTRY_COMPARE(store.load(firstId)->title, QStringLiteral("Renamed by the user"));
        // The open conversation renames in memory too (and keeps the title on later saves).
        QVERIFY(chat->renameConversation(openId, QStringLiteral("Open one")));
        QVERIFY(chat->send(QStringLiteral("more")));
        QVERIFY(QTest::qWaitFor([&] { return !chat->isStreaming(); }, 5000));
        QCOMPARE(store.load(openId)->title, QStringLiteral("Open one"));
    }

    // Regenerate keeps the earlier answers; the bubble steps between them;
    // every answer records the model that wrote it; all of it is saved.
    void regenerateKeepsEarlierAnswers() {
        QTemporaryDir data;
        FakeBackendOptions o;
        o.script = {"same", " answer"};
        o.msPerTokenAt8 = 1;
        auto w = studiotest::window(data.path(), o);
        ChatController* chat = w->chat();
        auto idle = [&] { return QTest::qWaitFor([&] { return !chat->isStreaming(); }, 5000); };
        QVERIFY(chat->send(QStringLiteral("question")));
        QVERIFY(idle());
        chat->setBits(4);
        QVERIFY(chat->regenerate());
        QVERIFY(idle());
        chat->setBits(6);
        QVERIFY(chat->regenerate());
        QVERIFY(idle());
        QCOMPARE(chat->model()->rowCount(), 2);
        const Message& m = chat->model()->message(1);
        QCOMPARE(m.versionCount(), 3);
        QCOMPARE(m.version, 3);
        QCOMPARE(m.widths, QList<int>{6});
        QCOMPARE(m.model, QStringLiteral("SmolLM2-135M.anyprec.safetensors"));
        MessageWidget* bubble = w->chatPanel()->view()->bubble(1);
        QCOMPARE(bubble->versionText(), QStringLiteral("3 / 3"));
        QVERIFY(bubble->previousVersionButton()->isEnabled());
        QVERIFY(!bubble->nextVersionButton()->isEnabled());
        bubble->previousVersionButton()->click();
        QCOMPARE(chat->model()->message(1).widths, QList<int>{4});
        bubble = w->chatPanel()->view()->bubble(1);
        QCOMPARE(bubble->versionText(), QStringLiteral("2 / 3"));
        QVERIFY(chat->showVersion(1, 1));
        QCOMPARE(chat->model()->message(1).widths, QList<int>{8});
        QCOMPARE(w->chatPanel()->view()->bubble(1)->versionText(), QStringLiteral("1 / 3"));
        // Saved with every version, and reloaded as shown.
        ConversationStore store(data.filePath("conversations"));
        const auto c = store.load(chat->model()->conversation().id);
        QVERIFY(c);
        QCOMPARE(c->messages[1].version, 1);
        QCOMPARE(c->messages[1].versionCount(), 3);
        QCOMPARE(c->messages[1].others[1].widths, QList<int>{6});
        QCOMPARE(c->messages[1].model, QStringLiteral("SmolLM2-135M.anyprec.safetensors"));
        // Regenerating from an earlier version adds a fourth, keeping all three.
        QVERIFY(chat->regenerate());
        QVERIFY(idle());
        QCOMPARE(chat->model()->message(1).versionCount(), 4);
        QCOMPARE(chat->model()->message(1).version, 4);
    }

    void searchFindsTitlesAndMessages() {
        QTemporaryDir data;
        FakeBackendOptions o;
        o.script = {"Lighthouses", " guide", " ships."};
        o.msPerTokenAt8 = 1;
        auto w = studiotest::window(data.path(), o);
        ChatController* chat = w->chat();
        QVERIFY(chat->send(QStringLiteral("Tell me about the sea")));
        QVERIFY(QTest::qWaitFor([&] { return !chat->isStreaming(); }, 5000));
        chat->newConversation();
        QVERIFY(chat->send(QStringLiteral("Something else")));
        QVERIFY(QTest::qWaitFor([&] { return !chat->isStreaming(); }, 5000));
        auto* side = w->findChild<ConversationSidebar*>();
        QCOMPARE(side->model()->rowCount(), 2);
        side->searchBox()->setText(QStringLiteral("THE SEA"));  // a title, any case
        QCOMPARE(side->model()->rowCount(), 1);
        side->searchBox()->setText(QStringLiteral("ships"));  // in both answers
        QCOMPARE(side->model()->rowCount(), 2);
        side->searchBox()->setText(QStringLiteral("else"));
        QCOMPARE(side->model()->rowCount(), 1);
        side->searchBox()->setText(QStringLiteral("no such words"));
        QCOMPARE(side->model()->rowCount(), 0);
        side->searchBox()->clear();
        QCOMPARE(side->model()->rowCount(), 2);
    }

    void exportsMarkdownAndJson() {
        QTemporaryDir data;
        FakeBackendOptions o;
        o.script = {"**Bold**", " answer"};
        o.msPerTokenAt8 = 1;
        auto w = studiotest::window(data.path(), o);
        ChatController* chat = w->chat();
        QVERIFY(chat->send(QStringLiteral("Export me")));
        QVERIFY(QTest::qWaitFor([&] { return !chat->isStreaming(); }, 5000));
        const QString id = chat->model()->conversation().id;
        const QString md = data.filePath("out.md"), js = data.filePath("out.json");
        QVERIFY(w->exportConversation(id, md));
        QVERIFY(w->exportConversation(id, js));
        QFile f(md);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(f.readAll());
        QVERIFY(text.startsWith("# Export me"));
        QVERIFY(text.contains("## You\n\nExport me"));
        QVERIFY(text.contains("## Assistant (SmolLM2-135M.anyprec.safetensors, 8-bit"));
        QVERIFY(text.contains("**Bold** answer"));
        QFile j(js);
        QVERIFY(j.open(QIODevice::ReadOnly));
        const Conversation back = Conversation::fromJson(QJsonDocument::fromJson(j.readAll()).object());
        QCOMPARE(back.id, id);
        QCOMPARE(back.messages.size(), 2);
        QCOMPARE(back.messages[1].text, QStringLiteral("**Bold** answer"));
    }

    void streamingAnswerIsSavedBeforeItEnds() {
        FakeBackendOptions o;
        o.msPerTokenAt8 = 20;
        for (int i = 0; i < 400; ++i) o.script << QStringLiteral(" x");
        auto w = studiotest::window(dir_.path(), o);
        w->chat()->newConversation();
        QVERIFY(w->chat()->send(QStringLiteral("long one")));
        const QString id = w->chat()->model()->conversation().id;
        ConversationStore store(dir_.filePath("conversations"));
        // The question is on disk at once; partial answers within a few seconds.
        QVERIFY(store.load(id).has_value());
        QVERIFY(QTest::qWaitFor([&] {
            auto c = store.load(id);
            return c && c->messages.size() == 2 && !c->messages[1].text.isEmpty();
        }, 6000));
        w->chat()->stop();
        QVERIFY(QTest::qWaitFor([&] { return !w->chat()->isStreaming(); }, 5000));
    }
};

QTEST_MAIN(TestStudioConversations)
#include "test_studio_conversations.moc"
