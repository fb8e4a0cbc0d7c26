#include "atomic_file.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <random>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace ap {

namespace {

constexpr const char* kSuffix = ".anyprec-tmp";
constexpr size_t kChunk = size_t(8) << 20;  // cancel is polled this often while writing

// ".<name>." — every temporary for `path` starts with this.
std::string temp_prefix(const fs::path& p) { return "." + p.filename().string() + "."; }

std::string random_hex() {
    std::random_device rd;
    const uint64_t r = (uint64_t(rd()) << 32) ^ rd();
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(r));
    return buf;
}

}  // namespace

int remove_stale_temporaries(const std::string& path) {
    const fs::path p(path);
    const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    const std::string prefix = temp_prefix(p);
    int removed = 0;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.size() <= prefix.size() + std::strlen(kSuffix) || name.compare(0, prefix.size(), prefix) != 0 ||
            !name.ends_with(kSuffix))
            continue;
        // ".<name>.<pid>.<random>.anyprec-tmp": only ours, only when the writer is gone.
        const std::string rest = name.substr(prefix.size());
        const size_t dot = rest.find('.');
        if (dot == std::string::npos || dot == 0 || dot > 10) continue;
        const std::string pid_text = rest.substr(0, dot);
        if (!std::all_of(pid_text.begin(), pid_text.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
        const long pid = std::stol(pid_text);
        if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)) continue;
        struct stat st;
        if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) continue;
        if (::unlink(it->path().c_str()) == 0) ++removed;
    }
    return removed;
}

AtomicFileWriter::AtomicFileWriter(const std::string& path, const std::atomic<bool>* cancel)
    : path_(path), cancel_(cancel) {
    remove_stale_temporaries(path);
    const fs::path p(path);
    const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path();
    for (int attempt = 0; attempt < 16 && fd_ < 0; ++attempt) {
        tmp_ = (dir / (temp_prefix(p) + std::to_string(::getpid()) + "." + random_hex() + kSuffix)).string();
        fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd_ < 0 && errno != EEXIST)
            throw file_error(path_, std::string("cannot create temporary file ") + tmp_ + ": " + std::strerror(errno));
    }
    if (fd_ < 0) throw file_error(path_, "cannot create a temporary file next to it (every name tried exists)");
}

AtomicFileWriter::~AtomicFileWriter() {
    if (committed_) return;
    if (fd_ >= 0) ::close(fd_);
    ::unlink(tmp_.c_str());
}

void AtomicFileWriter::check_cancel() const {
    if (cancel_ && cancel_->load()) throw Cancelled(path_ + ": writing cancelled; nothing was written");
}

void AtomicFileWriter::write(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (n > 0) {
        check_cancel();
        ssize_t w = ::write(fd_, p, std::min(n, kChunk));
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
    check_cancel();  // the last moment a cancel can still leave the old file untouched
    // rename() replaces a symlink at `path` itself; it never writes through it.
    if (::rename(tmp_.c_str(), path_.c_str()) != 0)
        throw file_error(path_, std::string("cannot rename ") + tmp_ + " into place: " + std::strerror(errno));
    committed_ = true;
}

}  // namespace ap
