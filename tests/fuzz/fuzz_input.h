// Shared by the fuzz targets: the engine reads model files through a memory
// map of a path, so each input is handed over as an in-memory file
// (memfd, no disk I/O) under its /proc/self/fd path.
#pragma once
#include "error.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace apfuzz {

class MemFile {
public:
    MemFile(const uint8_t* data, size_t size) : fd_(memfd_create("anyprec-fuzz", MFD_CLOEXEC)) {
        for (size_t done = 0; fd_ >= 0 && done < size;) {
            const ssize_t w = ::write(fd_, data + done, size - done);
            if (w <= 0) break;
            done += size_t(w);
        }
    }
    ~MemFile() {
        if (fd_ >= 0) ::close(fd_);
    }
    MemFile(const MemFile&) = delete;
    MemFile& operator=(const MemFile&) = delete;
    std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

private:
    int fd_;
};

// Runs f; an ap::Error is the expected outcome for bad input. Anything else
// (another exception type, a crash, a sanitizer report) is a finding.
template <class F>
void expect_clean(F&& f) {
    try {
        f();
    } catch (const ap::Error&) {
    }
}

}  // namespace apfuzz
