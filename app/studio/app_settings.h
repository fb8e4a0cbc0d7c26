// Every persistent preference of the studio behind a typed accessor. Storage
// is QSettings (organisation "AnyPrec", application "AnyPrec Studio").
#pragma once
#include "setting_value.h"
#include "studio_types.h"

#include <QByteArray>
#include <QStringList>

namespace studio {

class AppSettings {
public:
    static constexpr int kMaxRecent = 8;

    QString lastModel() const { return lastModel_.get(); }
    void setLastModel(const QString& p) const { lastModel_.set(p); }
    QStringList recentModels() const { return recent_.get(); }
    void addRecentModel(const QString& path) const;  // most recent first, no duplicates
    void removeRecentModel(const QString& path) const;

    QByteArray windowGeometry() const { return geometry_.get(); }
    void setWindowGeometry(const QByteArray& g) const { geometry_.set(g); }
    QByteArray windowState() const { return state_.get(); }
    void setWindowState(const QByteArray& s) const { state_.set(s); }
    QByteArray splitterState() const { return splitter_.get(); }
    void setSplitterState(const QByteArray& s) const { splitter_.set(s); }

    SamplingSettings sampling() const;
    void setSampling(const SamplingSettings& s) const;
    QString systemPrompt() const { return systemPrompt_.get(); }
    void setSystemPrompt(const QString& p) const { systemPrompt_.set(p); }
    // Preferred width (0 = parent / full precision); clamped to the model on use.
    int preferredBits() const { return bits_.get(); }
    void setPreferredBits(int b) const { bits_.set(b); }

    // Decoding mode (see DecodeModeBar): speculative with its draft width, or
    // the auto width with its tokens/s target. Kept while a model cannot use them.
    bool speculative() const { return speculative_.get(); }
    void setSpeculative(bool on) const { speculative_.set(on); }
    int draftBits() const { return draftBits_.get(); }
    void setDraftBits(int b) const { draftBits_.set(b); }
    bool autoWidth() const { return autoWidth_.get(); }
    void setAutoWidth(bool on) const { autoWidth_.set(on); }
    double targetTps() const { return targetTps_.get(); }
    void setTargetTps(double t) const { targetTps_.set(t); }

    QString evalTextPath() const { return evalText_.get(); }  // "" = default from set-up
    void setEvalTextPath(const QString& p) const { evalText_.set(p); }
    int perplexityWindows() const { return pplWindows_.get(); }
    void setPerplexityWindows(int n) const { pplWindows_.set(n); }
    QList<int> compareWidths() const;
    void setCompareWidths(const QList<int>& w) const;
    QString lastConversation() const { return lastConversation_.get(); }
    void setLastConversation(const QString& id) const { lastConversation_.set(id); }
    QString themeMode() const { return theme_.get(); }  // "system", "light", "dark"
    void setThemeMode(const QString& m) const { theme_.set(m); }
    RuntimeSettings runtime() const;
    void setRuntime(const RuntimeSettings& r) const;
    QString lastQuantizeOutputDir() const { return quantDir_.get(); }
    void setLastQuantizeOutputDir(const QString& d) const { quantDir_.set(d); }

private:
    SettingValue<QString> lastModel_{QStringLiteral("model/last"), {}};
    SettingValue<QStringList> recent_{QStringLiteral("model/recent"), {}};
    SettingValue<QByteArray> geometry_{QStringLiteral("window/geometry"), {}};
    SettingValue<QByteArray> state_{QStringLiteral("window/state"), {}};
    SettingValue<QByteArray> splitter_{QStringLiteral("window/splitter"), {}};
    SettingValue<double> temperature_{QStringLiteral("sampling/temperature"), 0.7};
    SettingValue<int> topK_{QStringLiteral("sampling/topK"), 40};
    SettingValue<double> topP_{QStringLiteral("sampling/topP"), 0.95};
    SettingValue<double> minP_{QStringLiteral("sampling/minP"), 0.05};
    SettingValue<double> repeat_{QStringLiteral("sampling/repeatPenalty"), 1.1};
    SettingValue<int> maxTokens_{QStringLiteral("sampling/maxTokens"), 512};
    SettingValue<qulonglong> seed_{QStringLiteral("sampling/seed"), 42};
    SettingValue<QString> systemPrompt_{QStringLiteral("chat/systemPrompt"),
                                        QStringLiteral("You are a helpful assistant.")};
    SettingValue<int> bits_{QStringLiteral("chat/bits"), 0};
    SettingValue<bool> speculative_{QStringLiteral("chat/speculative"), false};
    SettingValue<int> draftBits_{QStringLiteral("chat/draftBits"), 4};
    SettingValue<bool> autoWidth_{QStringLiteral("chat/autoWidth"), false};
    SettingValue<double> targetTps_{QStringLiteral("chat/targetTps"), 30.0};
    SettingValue<QString> evalText_{QStringLiteral("quality/evalText"), {}};
    SettingValue<int> pplWindows_{QStringLiteral("quality/windows"), 8};
    SettingValue<QString> compareWidths_{QStringLiteral("compare/widths"), QStringLiteral("3,4,8")};
    SettingValue<QString> lastConversation_{QStringLiteral("chat/lastConversation"), {}};
    SettingValue<QString> quantDir_{QStringLiteral("quantize/outputDir"), {}};
    SettingValue<QString> theme_{QStringLiteral("appearance/theme"), QStringLiteral("system")};
    SettingValue<int> threads_{QStringLiteral("engine/threads"), 0};
    SettingValue<int> nCtx_{QStringLiteral("engine/contextLength"), 2048};
    SettingValue<bool> reuseKv_{QStringLiteral("engine/reuseKvCache"), true};
    SettingValue<bool> kvInt8_{QStringLiteral("engine/kvCacheInt8"), false};
    SettingValue<QString> codeCopy_{QStringLiteral("engine/codeCopyMode"), QStringLiteral("auto")};  // auto, always, never
};

}  // namespace studio
