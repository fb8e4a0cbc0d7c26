// Conversations on disk: one JSON file each in a folder of the user's data
// directory, written through QSaveFile so a crash or kill never leaves a
// half-written file (the previous version survives instead).
#pragma once
#include "conversation.h"

#include <optional>

namespace studio {

struct ConversationSummary {
    QString id, title;
    QDateTime updated;
    int nMessages = 0;
};

bool matches(const Conversation& c, const QString& query);

class ConversationStore {
public:
    explicit ConversationStore(QString dir);
    const QString& dir() const { return dir_; }

    bool save(const Conversation& c, QString* error = nullptr) const;
    std::optional<Conversation> load(const QString& id) const;
    bool remove(const QString& id) const;
    // Newest first; unreadable files are skipped. With a query: only those whose
    // title or any message (earlier answers too) contains it, ignoring case.
    QList<ConversationSummary> list(const QString& query = {}) const;

private:
    QString fileFor(const QString& id) const;
    QString dir_;
};

}  // namespace studio
