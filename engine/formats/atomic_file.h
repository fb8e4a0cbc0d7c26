// Writes a file under a fresh temporary name in the target's directory and
// renames it into place on commit(); any failure (full disk included) or a
// cancel removes the temporary, so no reader ever sees a half-written model
// and an existing file at `path` stays intact.
//
// The temporary is ".<name>.<pid>.<random>.anyprec-tmp", created with
// O_EXCL | O_NOFOLLOW: a file or symlink planted at a predictable name can
// neither be overwritten nor followed. Temporaries of ours left by a killed
// run (their pid no longer alive) are removed when the next writer starts.
#pragma once
#include "error.h"

#include <atomic>
#include <cstddef>
#include <string>

namespace ap {

class AtomicFileWriter {
public:
    // cancel (optional) is polled between chunks and before the rename.
    explicit AtomicFileWriter(const std::string& path, const std::atomic<bool>* cancel = nullptr);
    ~AtomicFileWriter();  // removes the temporary unless committed
    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

    void write(const void* data, size_t n);  // throws ap::Error naming path, ap::Cancelled
    // Delayed allocation errors (ENOSPC on network or quota-limited file
    // systems) often surface only at fsync/close, so both are checked.
    void commit();
    const std::string& temp_path() const { return tmp_; }

private:
    void check_cancel() const;
    std::string path_, tmp_;
    const std::atomic<bool>* cancel_ = nullptr;
    int fd_ = -1;
    bool committed_ = false;
};

// Removes temporaries of ours for `path` whose writing process is gone;
// returns how many were removed. Called by every AtomicFileWriter.
int remove_stale_temporaries(const std::string& path);

}  // namespace ap
