// The studio's look: Fusion style, a light palette and one style sheet, so
// widgets only set object names / properties and never colours of their own.
#pragma once
#include <QColor>

class QApplication;

namespace studio::theme {

void apply(QApplication& app);
QColor widthColor(int bits);  // one colour per width, shared by the plots and badges
QColor accent();

}  // namespace studio::theme
