#include "main_window.h"

#include "about_dialog.h"
#include "acceptance_plot.h"
#include "chat_controller.h"
#include "chat_panel.h"
#include "chat_view.h"
#include "comparison_view.h"
#include "conversation_sidebar.h"
#include "conversation_store.h"
#include "engine_controller.h"
#include "format_util.h"
#include "memory_plot.h"
#include "model_panel.h"
#include "settings_page.h"
#include "perplexity_cache.h"
#include "precision_slider.h"
#include "quality_panel.h"
#include "quality_plot.h"
#include "sampling_panel.h"
#include "speed_plot.h"
#include "status_panel.h"
#include "studio_paths.h"

#include <QActionGroup>
#include <QDir>
#include <QRegularExpression>
#include <QSaveFile>
#include <QApplication>
#include <QCloseEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenuBar>
#include <QMessageBox>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>

namespace studio {

MainWindow::MainWindow(BackendFactory backend, MainWindowOptions opt, QWidget* parent)
    : QMainWindow(parent), opt_(std::move(opt)) {
    setWindowTitle(tr("AnyPrec Studio"));
    store_ = std::make_unique<ConversationStore>(opt_.conversationsDir.isEmpty() ? paths::conversationsDir()
                                                                                  : opt_.conversationsDir);
    pplCache_ = std::make_unique<PerplexityCache>(opt_.perplexityCacheFile.isEmpty() ? paths::perplexityCacheFile()
                                                                                       : opt_.perplexityCacheFile);
    engine_ = new EngineController(std::move(backend), this);
    engine_->configure(settings_.runtime());  // before the first load: the session is made with them
    chat_ = new ChatController(engine_, store_.get(), this);
    chat_->setSampling(settings_.sampling());
    chat_->setSystemPrompt(settings_.systemPrompt());

    // ---- layout: sidebar | center tabs | plot tabs
    splitter_ = new QSplitter(Qt::Horizontal, this);
    sidebar_ = new ConversationSidebar(store_.get(), splitter_);
    center_ = new QTabWidget(splitter_);
    center_->setDocumentMode(true);
    chatPanel_ = new ChatPanel(chat_, center_);
    compare_ = new ComparisonView(engine_, center_);
    compare_->setSampling(chat_->sampling());
    compare_->setSystemPrompt(settings_.systemPrompt());
    center_->addTab(chatPanel_, tr("Chat"));
    center_->addTab(compare_, tr("Compare widths"));
    plots_ = new QTabWidget(splitter_);
    plots_->setDocumentMode(true);
    speed_ = new SpeedPlot(plots_);
    memory_ = new MemoryPlot(plots_);
    quality_ = new QualityPanel(engine_, pplCache_.get(), plots_);
    quality_->setWindows(settings_.perplexityWindows());
    quality_->setTextPath(settings_.evalTextPath().isEmpty() ? paths::defaultEvalText() : settings_.evalTextPath());
    settingsPage_ = new SettingsPage(plots_);
    settingsPage_->setRuntime(settings_.runtime());
    settingsPage_->setThemeMode(theme::mode());
    sampling_ = settingsPage_->sampling();
    sampling_->setSampling(chat_->sampling());
    modelPanel_ = new ModelPanel(plots_);
    sampling_->setSystemPrompt(settings_.systemPrompt());
    plots_->addTab(speed_, tr("Speed"));
    auto* rounds = new AcceptancePlot(plots_);  // found by type (findChild) where needed
    connect(chat_, &ChatController::tokenStats, rounds, &AcceptancePlot::addStats);
    plots_->addTab(memory_, tr("Memory"));
    plots_->addTab(quality_, tr("Quality"));
    plots_->addTab(rounds, tr("Speculation"));
    plots_->addTab(modelPanel_, tr("Model"));
    plots_->addTab(settingsPage_, tr("Settings"));
    splitter_->addWidget(sidebar_);
    splitter_->addWidget(center_);
    splitter_->addWidget(plots_);
    splitter_->setStretchFactor(0, 0);
    splitter_->setStretchFactor(1, 3);
    splitter_->setStretchFactor(2, 2);
    splitter_->setSizes({220, 680, 460});
    splitter_->setChildrenCollapsible(false);
    sidebar_->setMinimumWidth(170);
    setCentralWidget(splitter_);
    status_ = new StatusPanel(statusBar());
    buildMenus();

    // ---- wiring
    connect(engine_, &EngineController::modelChanged, this, &MainWindow::onModelLoaded);
    connect(engine_, &EngineController::loadFailed, this, &MainWindow::onLoadFailed);
    connect(engine_, &EngineController::runtimeChanged, this, &MainWindow::onRuntimeChanged);
    connect(engine_, &EngineController::configureFailed, this, [this](const QString& err) {
        statusBar()->showMessage(tr("Could not apply the engine settings: %1").arg(err), 10000);
    });
    connect(settingsPage_, &SettingsPage::runtimeRequested, this, [this](const RuntimeSettings& r) {
        settings_.setRuntime(r);
        if (chat_->isStreaming()) chat_->stop();  // the session it writes into is replaced
        engine_->configure(r);
        statusBar()->showMessage(tr("Applying the engine settings\u2026"), 3000);
    });
    connect(settingsPage_, &SettingsPage::themeRequested, this, &MainWindow::setThemeMode);
    connect(engine_, &EngineController::loadProgress, this, [this](double f, const QString& stage) {
        status_->setLoading(true, f, stage);
        chatPanel_->setPlaceholder(tr("Loading %1\u2026 %2%").arg(QFileInfo(loadingPath_).fileName()).arg(int(f * 100)));
    });
    connect(chat_, &ChatController::tokenStats, this, [this](const TokenStats& s) {
        speed_->addStats(s);
        status_->setLiveStats(s);
        status_->setBits(s.bits);
    });
    connect(chat_, &ChatController::turnFinished, this, [this](const GenerationSummary& s, int) {
        status_->setSummary(s);
        memory_->setRuntimeBytes(s.kvBytes, s.activationBytes, s.copyBytes);
    });
    connect(chat_, &ChatController::errorOccurred, this, [this](const QString& m) { statusBar()->showMessage(m, 8000); });
    connect(chat_, &ChatController::conversationsChanged, this, [this] {
        // Whatever was saved last is what a restart (or a crash) reopens.
        if (chat_->model()->rowCount() > 0) settings_.setLastConversation(chat_->model()->conversation().id);
        refreshSidebar();
    });
    connect(chat_, &ChatController::conversationOpened, this, [this](const QString& id) {
        settings_.setLastConversation(id);
        refreshSidebar();
    });
    connect(chatPanel_->precision(), &PrecisionSlider::bitsChanged, this, [this](int b) {
        settings_.setPreferredBits(b);
        status_->setBits(b);
    });
    connect(chatPanel_->precision(), &PrecisionSlider::wizardRequested, this, &MainWindow::openWizard);
    connect(sidebar_, &ConversationSidebar::newRequested, chat_, &ChatController::newConversation);
    connect(sidebar_, &ConversationSidebar::openRequested, chat_, &ChatController::openConversation);
    connect(sidebar_, &ConversationSidebar::deleteRequested, chat_, &ChatController::deleteConversation);
    connect(sidebar_, &ConversationSidebar::renameRequested, chat_, &ChatController::renameConversation);
    connect(sidebar_, &ConversationSidebar::exportRequested, this, &MainWindow::askExportConversation);
    connect(sampling_, &SamplingPanel::samplingChanged, this, [this](const SamplingSettings& s) {
        chat_->setSampling(s);
        compare_->setSampling(s);
        settings_.setSampling(s);
    });
    connect(sampling_, &SamplingPanel::systemPromptChanged, this, [this](const QString& p) {
        chat_->setSystemPrompt(p);
        compare_->setSystemPrompt(p);
        settings_.setSystemPrompt(p);
    });
    // Every decoded token feeds the speed plot, the comparison's too (its
    // columns are separate streams at their own widths).
    connect(engine_, &EngineController::compareToken, speed_,
            [this](quint64, int, const QString&, const TokenStats& s) { speed_->addStats(s); });
    connect(speed_, &SpeedPlot::meanSpeedsChanged, this, [this] { quality_->plot()->setSpeeds(speed_->meanSpeeds()); });
    connect(quality_, &QualityPanel::textPathChanged, this, [this](const QString& p) { settings_.setEvalTextPath(p); });
    connect(compare_, &ComparisonView::selectionChanged, this, [this](const QList<int>& w) { settings_.setCompareWidths(w); });

    // ---- restore
    if (!restoreGeometry(settings_.windowGeometry())) resize(1360, 860);
    restoreState(settings_.windowState());
    splitter_->restoreState(settings_.splitterState());
    if (!settings_.lastConversation().isEmpty()) chat_->openConversation(settings_.lastConversation());
    refreshSidebar();
    chatPanel_->setPlaceholder(tr("No model loaded. Open one with File \u2192 Open model\u2026"));
    if (opt_.autoLoad) QTimer::singleShot(0, this, &MainWindow::startupLoad);
}

MainWindow::~MainWindow() = default;

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open model\u2026"), QKeySequence::Open, this, [this] {
        const QString p = QFileDialog::getOpenFileName(this, tr("Open model"), paths::cacheDir() + "/models",
                                                       tr("Models (*.gguf *.safetensors);;All files (*)"));
        if (!p.isEmpty()) openModel(p);
    });
    file->addAction(tr("Open &Hugging Face folder\u2026"), this, [this] {
        const QString p = QFileDialog::getExistingDirectory(this, tr("Hugging Face model folder"));
        if (!p.isEmpty()) openModel(p);
    });
    recentMenu_ = file->addMenu(tr("&Recent models"));
    rebuildRecentMenu();
    file->addSeparator();
    file->addAction(tr("&Quantize to any-precision\u2026"), QKeySequence(tr("Ctrl+Shift+Q")), this, &MainWindow::openWizard);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu* chat = menuBar()->addMenu(tr("&Chat"));
    chat->addAction(tr("&New chat"), QKeySequence::New, chat_, &ChatController::newConversation);
    chat->addAction(tr("&Regenerate answer"), QKeySequence(tr("Ctrl+R")), chat_, &ChatController::regenerate);
    chat->addAction(tr("&Stop"), chat_, &ChatController::stop);
    chat->addAction(tr("&Clear conversation"), chat_, &ChatController::clear);
    chat->addSeparator();
    chat->addAction(tr("&Find in conversations"), QKeySequence::Find, this, [this] {
        sidebar_->searchBox()->setFocus();
        sidebar_->searchBox()->selectAll();
    });
    chat->addAction(tr("&Export conversation\u2026"), QKeySequence(tr("Ctrl+Shift+E")), this,
                    [this] { askExportConversation(chat_->model()->conversation().id); });

    QMenu* view = menuBar()->addMenu(tr("&View"));
    view->addAction(tr("&Chat"), QKeySequence(tr("Ctrl+1")), this, [this] { center_->setCurrentIndex(0); });
    view->addAction(tr("C&ompare widths"), QKeySequence(tr("Ctrl+2")), this, [this] { center_->setCurrentIndex(1); });
    view->addAction(tr("Clear speed plot"), speed_, &SpeedPlot::clear);
    QMenu* themeMenu = view->addMenu(tr("&Theme"));
    auto* group = new QActionGroup(this);
    for (auto [m, name] : {std::pair{theme::Mode::System, tr("Follow the &system")}, std::pair{theme::Mode::Light, tr("&Light")},
                           std::pair{theme::Mode::Dark, tr("&Dark")}}) {
        QAction* a = themeMenu->addAction(name, this, [this, m = m] { setThemeMode(m); });
        a->setCheckable(true);
        a->setData(int(m));
        a->setChecked(m == theme::mode());
        group->addAction(a);
        themeActions_ << a;
    }

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About AnyPrec Studio"), this, &MainWindow::showAbout);
}

AboutDialog* MainWindow::showAbout() {
    auto* d = new AboutDialog(this);
    d->setAttribute(Qt::WA_DeleteOnClose);
    d->open();  // window-modal, not blocking: the engine's signals keep flowing
    return d;
}

bool MainWindow::exportConversation(const QString& id, const QString& path, QString* error) {
    // The open conversation may have changes not saved yet: export what is shown.
    std::optional<Conversation> c;
    if (id == chat_->model()->conversation().id) c = chat_->model()->conversation();
    else c = store_->load(id);
    if (!c) {
        if (error) *error = tr("the conversation could not be read");
        return false;
    }
    const QByteArray bytes = path.endsWith(QLatin1String(".json"), Qt::CaseInsensitive) ? toJsonBytes(*c) : toMarkdown(*c).toUtf8();
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size() || !f.commit()) {
        if (error) *error = f.errorString();
        return false;
    }
    return true;
}

void MainWindow::askExportConversation(const QString& id) {
    QString title = id;
    if (id == chat_->model()->conversation().id) {
        if (chat_->model()->rowCount() == 0) {
            statusBar()->showMessage(tr("Nothing to export yet: the conversation is empty."), 5000);
            return;
        }
        title = chat_->model()->conversation().title;
    }
    QString name = title.simplified().left(40);
    name.replace(QRegularExpression(QStringLiteral("[^\\w\\- ]")), QString());
    QString filter;
    const QString path = QFileDialog::getSaveFileName(this, tr("Export conversation"),
                                                      QDir::home().filePath((name.isEmpty() ? id : name) + ".md"),
                                                      tr("Markdown (*.md);;JSON (*.json)"), &filter);
    if (path.isEmpty()) return;
    QString target = path;
    if (QFileInfo(target).suffix().isEmpty()) target += filter.contains("json") ? ".json" : ".md";
    QString err;
    if (exportConversation(id, target, &err)) statusBar()->showMessage(tr("Exported to %1").arg(target), 6000);
    else QMessageBox::warning(this, tr("Export conversation"), tr("Could not write %1: %2").arg(target, err));
}

void MainWindow::rebuildRecentMenu() {
    recentMenu_->clear();
    for (const QString& p : settings_.recentModels())
        recentMenu_->addAction(QFileInfo(p).fileName(), this, [this, p] { openModel(p); })->setToolTip(p);
    recentMenu_->setEnabled(!recentMenu_->isEmpty());
}

void MainWindow::startupLoad() {
    QString path = settings_.lastModel();
    if (path.isEmpty() || !QFileInfo::exists(path)) path = paths::defaultModel();
    if (!QFileInfo::exists(path)) {
        showMissingModelHelp(path);
        return;
    }
    openModel(path);
}

void MainWindow::showMissingModelHelp(const QString& path) {
    chatPanel_->setPlaceholder(
        tr("The default model is not installed yet.\n\nExpected: %1\n\nTo get it, run the set-up script from the "
           "AnyPrec Studio source folder (it downloads SmolLM2-135M-Instruct, about 95 MB, into ~/.cache/anyprec):\n"
           "    bash packaging/setup.sh --build --checkpoint\n\nor open any GGUF, Hugging Face folder or "
           "any-precision checkpoint with File \u2192 Open model\u2026")
            .arg(path));
    status_->setLoading(false);
}

void MainWindow::openModel(const QString& path) {
    if (chat_->isStreaming()) chat_->stop();
    loadingPath_ = path;
    status_->setLoading(true, 0, tr("loading"));
    chatPanel_->setPlaceholder(tr("Loading %1\u2026").arg(QFileInfo(path).fileName()));
    engine_->loadModel(path);
}

void MainWindow::onModelLoaded(const ModelInfo& info) {
    status_->setLoading(false);
    speed_->clear();  // speeds of the previous model say nothing about this one
    settings_.setLastModel(info.path);
    settings_.addRecentModel(info.path);
    rebuildRecentMenu();
    chatPanel_->precision()->setModel(info, settings_.preferredBits());
    chat_->setBits(chatPanel_->precision()->bits());
    status_->setModel(info);
    status_->setBits(chatPanel_->precision()->bits());
    memory_->setModel(info);
    compare_->setSelectedWidths(settings_.compareWidths());
    setWindowTitle(tr("%1 \u2014 AnyPrec Studio").arg(info.name));
    settingsPage_->setModel(info);
    modelPanel_->setModel(info);
    chatPanel_->setPlaceholder(readyHint(info));
}

void MainWindow::onRuntimeChanged(const ModelInfo& info) {
    // Same model, new session: what depends on the context and threads changes, nothing else.
    status_->setModel(info);
    status_->setBits(chatPanel_->precision()->bits());
    memory_->setModel(info);
    settingsPage_->setModel(info);
    modelPanel_->setModel(info);
    statusBar()->showMessage(tr("Engine settings applied: %1 threads, context %2 tokens").arg(info.threads).arg(info.nCtx), 6000);
}

void MainWindow::setThemeMode(theme::Mode m) {
    if (auto* app = qobject_cast<QApplication*>(QCoreApplication::instance())) theme::apply(*app, m);
    settings_.setThemeMode(theme::modeKey(m));
    settingsPage_->setThemeMode(m);
    for (QAction* a : themeActions_) a->setChecked(a->data().toInt() == int(m));
}

QString MainWindow::readyHint(const ModelInfo& info) const {
    QString hint = tr("%1 is ready. Ask anything.").arg(info.name);
    if (!info.anyPrecision)
        hint += tr("\n\nThis is a plain model, served at full precision only. Use \u201cMake an any-precision copy\u201d "
                   "above to create a model you can slide between %1 and %2 bits.").arg(3).arg(8);
    if (!info.chatWarning.isEmpty()) hint += "\n\n" + info.chatWarning;
    return hint;
}

void MainWindow::onLoadFailed(const QString& path, const QString& error) {
    status_->setLoading(false);
    status_->setModel(engine_->model());
    if (!QFileInfo::exists(path) && path == paths::defaultModel()) {
        showMissingModelHelp(path);
        return;
    }
    // A failed open leaves the model that was loaded (the backend keeps it),
    // so the chat stays as it was; only with no model does the chat say why.
    if (engine_->model().isValid()) {
        chatPanel_->setPlaceholder(readyHint(engine_->model()));
        statusBar()->showMessage(tr("Could not open %1; still using %2").arg(QFileInfo(path).fileName(),
                                                                            QFileInfo(engine_->model().path).fileName()), 10000);
    } else
        chatPanel_->setPlaceholder(tr("Could not open %1:\n%2").arg(QFileInfo(path).fileName(), error));
    // Window-modal but not blocking: the engine thread's signals keep flowing.
    auto* box = new QMessageBox(QMessageBox::Warning, tr("Open model"), tr("Could not open the model:\n%1").arg(error),
                                QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setObjectName(QStringLiteral("openModelError"));
    box->open();
}

QuantizeWizard* MainWindow::openWizard() {
    auto* w = new QuantizeWizard(engine_, opt_.validator, this);
    w->setAttribute(Qt::WA_DeleteOnClose);
    connect(w, &QuantizeWizard::openModelRequested, this, &MainWindow::openModel);
    w->show();
    return w;
}

void MainWindow::refreshSidebar() { sidebar_->refresh(chat_->model()->conversation().id); }

void MainWindow::closeEvent(QCloseEvent* e) {
    // Quitting would throw away an answer being written or a quantization
    // under way: ask first (Ctrl+Q is one key away from Ctrl+W/Tab).
    if (chat_->isStreaming() || engine_->isQuantizing()) {
        const QString what = engine_->isQuantizing() ? tr("A quantization is running and will be cancelled.")
                                                     : tr("An answer is still being written and will be stopped.");
        QMessageBox ask(QMessageBox::Question, tr("Quit AnyPrec Studio"), what + "\n\n" + tr("Quit anyway?"),
                        QMessageBox::NoButton, this);
        ask.setObjectName(QStringLiteral("confirmQuit"));
        QPushButton* quit = ask.addButton(tr("&Quit"), QMessageBox::AcceptRole);
        ask.addButton(QMessageBox::Cancel);
        ask.setDefaultButton(QMessageBox::Cancel);
        ask.exec();
        if (ask.clickedButton() != quit) {
            e->ignore();
            return;
        }
        engine_->cancelQuantize();
    }
    chat_->stop();
    chat_->save();
    settings_.setWindowGeometry(saveGeometry());
    settings_.setWindowState(saveState());
    settings_.setSplitterState(splitter_->saveState());
    e->accept();
}

}  // namespace studio
