// Help → About: version, licence and the paper the studio implements.
#pragma once
#include <QDialog>

namespace studio {

class AboutDialog : public QDialog {
    Q_OBJECT
public:
    explicit AboutDialog(QWidget* parent = nullptr);
    static QString version();  // the project's version (CMake's PROJECT_VERSION)
    QString text() const;      // the dialog's text as plain text (tests)

private:
    QString html_;
};

}  // namespace studio
