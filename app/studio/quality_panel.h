// The Quality tab: pick an evaluation text, measure perplexity at every width
// in the background (progress, cancel), show it, and cache it per model+text.
#pragma once
#include "engine_controller.h"
#include "perplexity_cache.h"

#include <QWidget>

class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace studio {

class QualityPlot;

class QualityPanel : public QWidget {
    Q_OBJECT
public:
    QualityPanel(EngineController* engine, PerplexityCache* cache, QWidget* parent = nullptr);

    QualityPlot* plot() const { return plot_; }
    void setTextPath(const QString& p);
    QString textPath() const;
    void setWindows(int n);
    void measure();  // widths not in the cache only
    bool isMeasuring() const { return activeId_ != 0; }
    // A short answer at each width, so the speed-vs-quality scatter has a
    // speed for every measured width (the tokens reach the speed plot).
    void measureSpeed(const QList<int>& widths);
    bool isMeasuringSpeed() const { return speedId_ != 0; }
    QString progressText() const;

signals:
    void textPathChanged(const QString& path);

private:
    void onModel(const ModelInfo& info);
    void showCached();
    QString cacheKey() const;

    EngineController* engine_;
    PerplexityCache* cache_;
    QualityPlot* plot_ = nullptr;
    QLineEdit* text_ = nullptr;
    QSpinBox* windows_ = nullptr;
    QPushButton* measure_ = nullptr;
    QPushButton* cancel_ = nullptr;
    QProgressBar* progress_ = nullptr;
    quint64 activeId_ = 0;
    quint64 speedId_ = 0;
    QList<int> pending_;
    QString activeKey_;
};

}  // namespace studio
