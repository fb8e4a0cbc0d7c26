#include "theme.h"

#include <QApplication>
#include <QPalette>
#include <QEvent>
#include <QStyle>
#include <QStyleFactory>
#include <QTimer>

namespace studio::theme {

QColor accent() { return QColor(0x2f, 0x6f, 0xeb); }

QColor widthColor(int bits) {
    switch (bits) {
    case 3: return QColor(0xe4, 0x57, 0x5b);
    case 4: return QColor(0xf0, 0x8c, 0x2e);
    case 5: return QColor(0xd9, 0xb5, 0x1c);
    case 6: return QColor(0x3b, 0xa5, 0x5c);
    case 7: return QColor(0x1f, 0x9e, 0xb5);
    case 8: return QColor(0x2f, 0x6f, 0xeb);
    case 0: return QColor(0x7a, 0x4c, 0xc9);
    default: return QColor(0x60, 0x66, 0x70);  // source model and anything else
    }
}

namespace {

struct Colors {
    const char *window, *base, *sidebar, *border, *selected, *selectedText, *hover, *text, *textSoft, *textRole, *muted,
        *buttonBorder, *buttonHover, *disabled, *accent, *accentHover, *accentDisabled, *onAccent, *danger,
        *dangerBorder, *bubble, *bubbleBorder, *action, *actionHover, *userAction, *inputBorder, *line, *tick, *groove,
        *codeBg;
};

const Colors kLight{"#f6f7f9", "#ffffff", "#eef0f4", "#dde1e7", "#dbe5fb", "#143b8a", "#e3e7ee", "#25292f",
                    "#4a5260", "#3b4250", "#7b8391", "#c9ced6", "#f0f3f8", "#a0a6b0", "#2f6feb", "#255fd0",
                    "#9db8ef", "#ffffff", "#c23a3a", "#e3a7a7", "#f1f3f6", "#e4e7ec", "#6b7380", "#e8eefb",
                    "#dbe6ff", "#cfd5de", "#e1e5eb", "#5d6572", "#dfe4ec", "#e9ebef"};
// Dark: the same roles, contrast checked against the text (WCAG AA on body text).
const Colors kDark{"#1b1e23", "#23272e", "#181a1f", "#343a43", "#2b3f66", "#dbe6ff", "#2c323b", "#e3e6eb",
                   "#b7bec9", "#c9ced6", "#8d96a3", "#454c57", "#2c323b", "#646b76", "#4c84f5", "#3a73e6",
                   "#2e4a80", "#ffffff", "#f07a7a", "#7a3b3b", "#2c3139", "#3a404a", "#9aa3b0", "#2b3545",
                   "#dbe6ff", "#454c57", "#343a43", "#a7afbb", "#3a404a", "#16181c"};

const char* kStyleSheet = R"(
QMainWindow, QDialog { background: @window@; }
QWidget { font-size: 10pt; }
#Sidebar { background: @sidebar@; border-right: 1px solid @border@; }
#Sidebar QListView { background: transparent; border: none; }
#Sidebar QListView::item { padding: 7px 8px; border-radius: 6px; margin: 1px 4px; color: @text@; }
#Sidebar QListView::item:selected { background: @selected@; color: @selectedText@; }
#Sidebar QListView::item:hover:!selected { background: @hover@; }
#SidebarTitle { font-weight: 600; color: @textSoft@; padding: 4px 6px; }
QPushButton { padding: 5px 12px; border-radius: 6px; border: 1px solid @buttonBorder@; background: @base@; }
QPushButton:hover { background: @buttonHover@; }
QPushButton:disabled { color: @disabled@; }
QPushButton#Primary { background: @accent@; color: @onAccent@; border: 1px solid @accent@; font-weight: 600; }
QPushButton#Primary:hover { background: @accentHover@; }
QPushButton#Primary:disabled { background: @accentDisabled@; border-color: @accentDisabled@; color: @onAccent@; }
QPushButton#Primary:focus, QPushButton#Primary:default { background: @accent@; color: @onAccent@; }
QPushButton#Danger { background: @base@; color: @danger@; border: 1px solid @dangerBorder@; font-weight: 600; }
#ChatArea, #ChatContent, #ChatBottom { background: @base@; }
QFrame#UserBubble { background: @accent@; border-radius: 12px; }
QFrame#UserBubble QLabel { color: @base@; }
QFrame#AssistantBubble { background: @bubble@; border-radius: 12px; border: 1px solid @bubbleBorder@; }
QLabel#MessageRole { font-weight: 600; color: @textRole@; }
QLabel#MessageMeta { color: @muted@; font-size: 9pt; }
QLabel#WidthBadge { color: @onAccent@; border-radius: 8px; padding: 1px 8px; font-size: 8.5pt; font-weight: 600; }
QToolButton#MessageAction { border: none; color: @action@; padding: 2px 6px; font-size: 9pt; }
QToolButton#MessageAction:hover { color: @accent@; background: @actionHover@; border-radius: 4px; }
QFrame#UserBubble QToolButton#MessageAction { color: @userAction@; }
QFrame#UserBubble QToolButton#MessageAction:hover { color: @base@; background: @accentHover@; }
#InputFrame { background: @base@; border: 1px solid @inputBorder@; border-radius: 10px; }
#InputFrame QPlainTextEdit { border: none; background: transparent; font-size: 10.5pt; }
#PrecisionBar { background: @base@; border-bottom: 1px solid @line@; }
#PrecisionTitle { font-weight: 600; color: @text@; }
#PrecisionValue { font-weight: 700; color: @accent@; font-size: 11pt; }
#TickLabel { color: @tick@; font-size: 8.5pt; }
#TickLabel[current="true"] { color: @accent@; font-weight: 700; }
#Placeholder { color: @muted@; font-size: 11pt; }
QTabWidget::pane { border: 1px solid @border@; background: @base@; border-radius: 4px; }
QTabBar::tab { padding: 6px 14px; background: transparent; border: none; color: @tick@; }
QTabBar::tab:selected { color: @selectedText@; border-bottom: 2px solid @accent@; font-weight: 600; }
QStatusBar { background: @sidebar@; border-top: 1px solid @border@; }
QStatusBar QLabel { color: @textRole@; padding: 0 8px; }
QFrame#CompareColumn { background: @base@; border: 1px solid @line@; border-radius: 10px; }
QGroupBox { font-weight: 600; border: 1px solid @border@; border-radius: 8px; margin-top: 10px; padding-top: 6px; background: @base@; }
QGroupBox::title { subcontrol-origin: margin; left: 10px; padding: 0 4px; }
QProgressBar { border: 1px solid @inputBorder@; border-radius: 5px; text-align: center; background: @base@; height: 16px; }
QProgressBar::chunk { background: @accent@; border-radius: 4px; }
QSlider::groove:horizontal { height: 6px; background: @groove@; border-radius: 3px; }
QSlider::sub-page:horizontal { background: @accent@; border-radius: 3px; }
QSlider::handle:horizontal { background: @base@; border: 2px solid @accent@; width: 16px; height: 16px; margin: -7px 0; border-radius: 9px; }
QSlider::handle:horizontal:disabled { border-color: @disabled@; }
QToolButton#PlotSave { padding: 4px 10px; border-radius: 6px; border: 1px solid @buttonBorder@; background: @base@; color: @text@; }
QToolButton#PlotSave:hover { background: @buttonHover@; }
QToolButton#PlotSave::menu-indicator { image: none; width: 0; }
QWidget#CodeBlock { background: @codeBg@; border: 1px solid @bubbleBorder@; border-radius: 8px; }
QLabel#CodeLanguage { color: @muted@; font-size: 8.5pt; }
QLabel#CodeText { color: @text@; }
QLabel#ContextUsage { color: @muted@; font-size: 9pt; }
QLabel#ContextUsage[full="true"] { color: @danger@; font-weight: 600; }
QLabel#MessageMeta[warning="true"] { color: @danger@; }
)";

Mode g_mode = Mode::System;
bool g_dark = false;
bool g_systemDark = false;

QString styleSheet(const Colors& c) {
    QString s = QString::fromLatin1(kStyleSheet);
    const QList<QPair<const char*, const char*>> tokens = {
        {"window", c.window}, {"base", c.base}, {"sidebar", c.sidebar}, {"border", c.border},
        {"selected", c.selected}, {"selectedText", c.selectedText}, {"hover", c.hover}, {"text", c.text},
        {"textSoft", c.textSoft}, {"textRole", c.textRole}, {"muted", c.muted}, {"buttonBorder", c.buttonBorder},
        {"buttonHover", c.buttonHover}, {"disabled", c.disabled}, {"accent", c.accent}, {"accentHover", c.accentHover},
        {"accentDisabled", c.accentDisabled}, {"onAccent", c.onAccent}, {"danger", c.danger},
        {"dangerBorder", c.dangerBorder}, {"bubble", c.bubble}, {"bubbleBorder", c.bubbleBorder}, {"action", c.action},
        {"actionHover", c.actionHover}, {"userAction", c.userAction}, {"inputBorder", c.inputBorder}, {"line", c.line},
        {"tick", c.tick}, {"groove", c.groove}, {"codeBg", c.codeBg}};
    for (const auto& [name, value] : tokens) s.replace(QLatin1Char('@') + QLatin1String(name) + QLatin1Char('@'), QLatin1String(value));
    return s;
}

QPalette palette(const Colors& c) {
    QPalette p;
    p.setColor(QPalette::Window, QColor(c.window));
    p.setColor(QPalette::Base, QColor(c.base));
    p.setColor(QPalette::AlternateBase, QColor(c.bubble));
    p.setColor(QPalette::Button, QColor(c.base));
    p.setColor(QPalette::Highlight, QColor(c.accent));
    p.setColor(QPalette::HighlightedText, QColor(c.onAccent));
    for (auto role : {QPalette::Text, QPalette::WindowText, QPalette::ButtonText, QPalette::ToolTipText})
        p.setColor(role, QColor(c.text));
    p.setColor(QPalette::ToolTipBase, QColor(c.base));
    p.setColor(QPalette::PlaceholderText, QColor(c.muted));
    p.setColor(QPalette::Link, QColor(c.accent));
    p.setColor(QPalette::Mid, QColor(c.border));
    for (auto role : {QPalette::Text, QPalette::WindowText, QPalette::ButtonText})
        p.setColor(QPalette::Disabled, role, QColor(c.disabled));
    return p;
}

bool looksDark(const QPalette& p) { return p.color(QPalette::Window).lightness() < p.color(QPalette::WindowText).lightness(); }

// Re-applies the theme when the desktop switches between light and dark.
class SystemWatcher : public QObject {
public:
    using QObject::QObject;
    bool eventFilter(QObject* o, QEvent* e) override {
        if (e->type() == QEvent::ThemeChange && o == qApp && g_mode == Mode::System) {
            QTimer::singleShot(0, qApp, [] { apply(*qApp, Mode::System); });
        }
        return false;
    }
};

}  // namespace

bool systemPrefersDark() {
    {
        // The platform's own palette (GTK, KDE, Windows, macOS) says what the
        // desktop uses; ours replaces it, so read it with ours reset first.
        const QPalette ours = QApplication::palette();
        QApplication::setPalette(QPalette());
        g_systemDark = looksDark(QApplication::palette());
        QApplication::setPalette(ours);
        const QString gtk = qEnvironmentVariable("GTK_THEME");
        if (gtk.endsWith(QLatin1String(":dark"), Qt::CaseInsensitive)) g_systemDark = true;
    }
    return g_systemDark;
}

Mode mode() { return g_mode; }
bool isDark() { return g_dark; }

QString modeKey(Mode m) {
    switch (m) {
    case Mode::Light: return QStringLiteral("light");
    case Mode::Dark: return QStringLiteral("dark");
    case Mode::System: break;
    }
    return QStringLiteral("system");
}

Mode modeFromKey(const QString& key) {
    if (key == QLatin1String("light")) return Mode::Light;
    if (key == QLatin1String("dark")) return Mode::Dark;
    return Mode::System;
}

QColor plotBackground() { return QColor(g_dark ? kDark.base : kLight.base); }
QColor plotText() { return QColor(g_dark ? kDark.textSoft : kLight.textSoft); }
QColor plotAxis() { return QColor(g_dark ? kDark.groove : "#b8bfca"); }
QColor plotGrid() { return QColor(g_dark ? kDark.line : "#eceef2"); }

void apply(QApplication& app, Mode m) {
    static SystemWatcher* watcher = [&app] {
        auto* w = new SystemWatcher(&app);
        app.installEventFilter(w);
        return w;
    }();
    Q_UNUSED(watcher);
    if (app.style()->name().compare(QLatin1String("fusion"), Qt::CaseInsensitive) != 0)
        app.setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    g_mode = m;
    const bool dark = m == Mode::Dark || (m == Mode::System && systemPrefersDark());
    g_dark = dark;
    const Colors& c = dark ? kDark : kLight;
    app.setPalette(palette(c));
    app.setStyleSheet(styleSheet(c));
}

}  // namespace studio::theme
