#include "atomic_file.h"

#include "error.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace ap {

AtomicFileWriter::AtomicFileWriter(const std::string& path) : path_(path), tmp_(path + ".tmp") {
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw file_error(path_, std::string("cannot create temporary file ") + tmp_ + ": " + std::strerror(errno));
}

AtomicFileWriter::~AtomicFileWriter() {
    if (committed_) return;
    if (fd_ >= 0) ::close(fd_);
    ::unlink(tmp_.c_str());
}

void AtomicFileWriter::write(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (n > 0) {
        ssize_t w = ::write(fd_, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) throw file_error(path_, std::string("write failed: ") + std::strerror(errno));
        if (w == 0) throw file_error(path_, "write failed: no progress (disk full?)");
        p += w;
        n -= static_cast<size_t>(w);
    }
}

void AtomicFileWriter::commit() {
    if (::fsync(fd_) != 0) throw file_error(path_, std::string("fsync failed: ") + std::strerror(errno));
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) throw file_error(path_, std::string("close failed: ") + std::strerror(errno));
    if (::rename(tmp_.c_str(), path_.c_str()) != 0)
        throw file_error(path_, std::string("cannot rename ") + tmp_ + " into place: " + std::strerror(errno));
    committed_ = true;
}

}  // namespace ap
