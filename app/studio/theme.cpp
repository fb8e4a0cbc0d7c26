#include "theme.h"

#include <QApplication>
#include <QPalette>
#include <QStyleFactory>

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
const char* kStyleSheet = R"(
QMainWindow, QDialog { background: #f6f7f9; }
QWidget { font-size: 10pt; }
#Sidebar { background: #eef0f4; border-right: 1px solid #dde1e7; }
#Sidebar QListView { background: transparent; border: none; }
#Sidebar QListView::item { padding: 7px 8px; border-radius: 6px; margin: 1px 4px; color: #25292f; }
#Sidebar QListView::item:selected { background: #dbe5fb; color: #143b8a; }
#Sidebar QListView::item:hover:!selected { background: #e3e7ee; }
#SidebarTitle { font-weight: 600; color: #4a5260; padding: 4px 6px; }
QPushButton { padding: 5px 12px; border-radius: 6px; border: 1px solid #c9ced6; background: #ffffff; }
QPushButton:hover { background: #f0f3f8; }
QPushButton:disabled { color: #a0a6b0; }
QPushButton#Primary { background: #2f6feb; color: white; border: 1px solid #2f6feb; font-weight: 600; }
QPushButton#Primary:hover { background: #255fd0; }
QPushButton#Primary:disabled { background: #9db8ef; border-color: #9db8ef; color: white; }
QPushButton#Primary:focus, QPushButton#Primary:default { background: #2f6feb; color: white; }
QPushButton#Danger { background: #ffffff; color: #c23a3a; border: 1px solid #e3a7a7; font-weight: 600; }
#ChatArea, #ChatContent, #ChatBottom { background: #ffffff; }
QFrame#UserBubble { background: #2f6feb; border-radius: 12px; }
QFrame#UserBubble QLabel { color: #ffffff; }
QFrame#AssistantBubble { background: #f1f3f6; border-radius: 12px; border: 1px solid #e4e7ec; }
QLabel#MessageRole { font-weight: 600; color: #3b4250; }
QLabel#MessageMeta { color: #7b8391; font-size: 9pt; }
QLabel#WidthBadge { color: white; border-radius: 8px; padding: 1px 8px; font-size: 8.5pt; font-weight: 600; }
QToolButton#MessageAction { border: none; color: #6b7380; padding: 2px 6px; font-size: 9pt; }
QToolButton#MessageAction:hover { color: #2f6feb; background: #e8eefb; border-radius: 4px; }
QFrame#UserBubble QToolButton#MessageAction { color: #dbe6ff; }
QFrame#UserBubble QToolButton#MessageAction:hover { color: #ffffff; background: #255fd0; }
#InputFrame { background: #ffffff; border: 1px solid #cfd5de; border-radius: 10px; }
#InputFrame QPlainTextEdit { border: none; background: transparent; font-size: 10.5pt; }
#PrecisionBar { background: #ffffff; border-bottom: 1px solid #e1e5eb; }
#PrecisionTitle { font-weight: 600; color: #25292f; }
#PrecisionValue { font-weight: 700; color: #2f6feb; font-size: 11pt; }
#TickLabel { color: #5d6572; font-size: 8.5pt; }
#TickLabel[current="true"] { color: #2f6feb; font-weight: 700; }
#Placeholder { color: #7b8391; font-size: 11pt; }
QTabWidget::pane { border: 1px solid #dde1e7; background: #ffffff; border-radius: 4px; }
QTabBar::tab { padding: 6px 14px; background: transparent; border: none; color: #5d6572; }
QTabBar::tab:selected { color: #143b8a; border-bottom: 2px solid #2f6feb; font-weight: 600; }
QStatusBar { background: #eef0f4; border-top: 1px solid #dde1e7; }
QStatusBar QLabel { color: #3b4250; padding: 0 8px; }
QFrame#CompareColumn { background: #ffffff; border: 1px solid #e1e5eb; border-radius: 10px; }
QGroupBox { font-weight: 600; border: 1px solid #dde1e7; border-radius: 8px; margin-top: 10px; padding-top: 6px; background: #ffffff; }
QGroupBox::title { subcontrol-origin: margin; left: 10px; padding: 0 4px; }
QProgressBar { border: 1px solid #cfd5de; border-radius: 5px; text-align: center; background: #ffffff; height: 16px; }
QProgressBar::chunk { background: #2f6feb; border-radius: 4px; }
QSlider::groove:horizontal { height: 6px; background: #dfe4ec; border-radius: 3px; }
QSlider::sub-page:horizontal { background: #2f6feb; border-radius: 3px; }
QSlider::handle:horizontal { background: #ffffff; border: 2px solid #2f6feb; width: 16px; height: 16px; margin: -7px 0; border-radius: 9px; }
QSlider::handle:horizontal:disabled { border-color: #a0a6b0; }
)";
}  // namespace

void apply(QApplication& app) {
    app.setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    QPalette p = app.palette();
    p.setColor(QPalette::Window, QColor(0xf6, 0xf7, 0xf9));
    p.setColor(QPalette::Base, Qt::white);
    p.setColor(QPalette::AlternateBase, QColor(0xf1, 0xf3, 0xf6));
    p.setColor(QPalette::Highlight, accent());
    p.setColor(QPalette::Text, QColor(0x25, 0x29, 0x2f));
    p.setColor(QPalette::WindowText, QColor(0x25, 0x29, 0x2f));
    p.setColor(QPalette::ButtonText, QColor(0x25, 0x29, 0x2f));
    app.setPalette(p);
    app.setStyleSheet(QString::fromLatin1(kStyleSheet));
}

}  // namespace studio::theme
