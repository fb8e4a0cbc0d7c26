// One typed QSettings entry: the key and default are written once, where the
// setting is declared (qBittorrent's SettingValue idea), so no string keys are
// scattered over the code.
#pragma once
#include <QSettings>
#include <QString>
#include <QVariant>

namespace studio {

template <typename T>
class SettingValue {
public:
    SettingValue(QString key, T def) : key_(std::move(key)), def_(std::move(def)) {}
    T get() const {
        QSettings s;
        const QVariant v = s.value(key_);
        return v.isValid() && v.canConvert<T>() ? v.value<T>() : def_;
    }
    void set(const T& value) const {
        QSettings s;
        s.setValue(key_, QVariant::fromValue(value));
    }
    const QString& key() const { return key_; }
    const T& defaultValue() const { return def_; }

private:
    QString key_;
    T def_;
};

}  // namespace studio
