// The studio's look: Fusion style, a light or a dark palette and one style
// sheet written against named colours, so widgets only set object names /
// properties and never colours of their own. "System" follows the desktop's
// colour scheme (read from the platform palette, also when it changes).
#pragma once
#include <QColor>
#include <QString>

class QApplication;

namespace studio::theme {

enum class Mode { System, Light, Dark };

// Applies `mode` now (and remembers it for later system changes).
void apply(QApplication& app, Mode mode = Mode::System);
Mode mode();
bool isDark();            // what is applied now
bool systemPrefersDark();  // what the desktop asks for
QString modeKey(Mode m);   // "system", "light", "dark" (settings)
Mode modeFromKey(const QString& key);

QColor widthColor(int bits);  // one colour per width, shared by the plots and badges
QColor accent();
// Plot colours of the applied theme.
QColor plotBackground();
QColor plotText();
QColor plotAxis();
QColor plotGrid();

}  // namespace studio::theme
