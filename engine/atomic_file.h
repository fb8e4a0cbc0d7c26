// Writes a file under "<path>.tmp" and renames it into place on commit();
// any failure (full disk included) removes the temporary, so no reader ever
// sees a half-written model and an existing file at `path` stays intact.
#pragma once
#include <cstddef>
#include <string>

namespace ap {

class AtomicFileWriter {
public:
    explicit AtomicFileWriter(const std::string& path);  // throws ap::Error naming path
    ~AtomicFileWriter();                                  // removes the temporary unless committed
    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

    void write(const void* data, size_t n);  // throws ap::Error naming path
    // Delayed allocation errors (ENOSPC on network or quota-limited file
    // systems) often surface only at fsync/close, so both are checked.
    void commit();

private:
    std::string path_, tmp_;
    int fd_ = -1;
    bool committed_ = false;
};

}  // namespace ap
