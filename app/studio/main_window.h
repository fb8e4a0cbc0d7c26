// The studio's main window: conversations on the left, chat (with the
// precision slider) and comparison in the middle, live plots and sampling
// settings on the right, status bar below. It wires the parts together and
// owns nothing that talks to the engine except through EngineController.
#pragma once
#include "app_settings.h"
#include "engine_backend.h"
#include "quantize_wizard.h"
#include "theme.h"

#include <QMainWindow>
#include <memory>

class QAction;
class QMenu;
class QSplitter;
class QTabWidget;

namespace studio {

class AboutDialog;
class ChatController;
class ChatPanel;
class ComparisonView;
class ConversationSidebar;
class ConversationStore;
class EngineController;
class MemoryPlot;
class ModelPanel;
class SettingsPage;
class PerplexityCache;
class QualityPanel;
class SamplingPanel;
class SpeedPlot;
class StatusPanel;

struct MainWindowOptions {
    QString conversationsDir;         // "" = the user's data folder
    QString perplexityCacheFile;      // "" = the user's data folder
    QuantizeWizard::Validator validator;
    bool autoLoad = true;             // open the last (or default) model at start
};

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    MainWindow(BackendFactory backend, MainWindowOptions opt = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    EngineController* engine() const { return engine_; }
    ChatController* chat() const { return chat_; }
    ChatPanel* chatPanel() const { return chatPanel_; }
    ComparisonView* comparison() const { return compare_; }
    SpeedPlot* speedPlot() const { return speed_; }
    MemoryPlot* memoryPlot() const { return memory_; }
    QualityPanel* quality() const { return quality_; }
    SamplingPanel* samplingPanel() const { return sampling_; }
    SettingsPage* settingsPage() const { return settingsPage_; }
    ModelPanel* modelPanel() const { return modelPanel_; }
    void setThemeMode(theme::Mode m);  // applies and remembers it
    StatusPanel* status() const { return status_; }
    QTabWidget* centerTabs() const { return center_; }
    QTabWidget* plotTabs() const { return plots_; }

    void openModel(const QString& path);
    QuantizeWizard* openWizard();  // non-modal; deleted on close
    AboutDialog* showAbout();      // deleted on close
    // Writes a conversation as Markdown (.md) or JSON (.json, the store's format).
    bool exportConversation(const QString& id, const QString& path, QString* error = nullptr);
    void askExportConversation(const QString& id);

protected:
    void closeEvent(QCloseEvent* e) override;

private:
    void buildMenus();
    void rebuildRecentMenu();
    void startupLoad();
    void onModelLoaded(const ModelInfo& info);
    void onLoadFailed(const QString& path, const QString& error);
    QString readyHint(const ModelInfo& info) const;  // the chat's placeholder once a model is loaded
    void showMissingModelHelp(const QString& path);
    void refreshSidebar();
    void onRuntimeChanged(const ModelInfo& info);

    AppSettings settings_;
    MainWindowOptions opt_;
    std::unique_ptr<ConversationStore> store_;
    std::unique_ptr<PerplexityCache> pplCache_;
    EngineController* engine_ = nullptr;
    ChatController* chat_ = nullptr;
    ConversationSidebar* sidebar_ = nullptr;
    ChatPanel* chatPanel_ = nullptr;
    ComparisonView* compare_ = nullptr;
    SpeedPlot* speed_ = nullptr;
    MemoryPlot* memory_ = nullptr;
    QualityPanel* quality_ = nullptr;
    SamplingPanel* sampling_ = nullptr;
    SettingsPage* settingsPage_ = nullptr;
    ModelPanel* modelPanel_ = nullptr;
    QList<QAction*> themeActions_;
    StatusPanel* status_ = nullptr;
    QTabWidget* center_ = nullptr;
    QTabWidget* plots_ = nullptr;
    QSplitter* splitter_ = nullptr;
    QMenu* recentMenu_ = nullptr;
    QString loadingPath_;
};

}  // namespace studio
