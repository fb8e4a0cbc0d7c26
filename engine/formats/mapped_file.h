// Read-only memory map of a whole file; the one way the engine reads model files.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace ap {

class MappedFile {
public:
    MappedFile() = default;
    explicit MappedFile(const std::string& path);  // throws ap::Error naming the file
    ~MappedFile();
    MappedFile(MappedFile&& o) noexcept;
    MappedFile& operator=(MappedFile&& o) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }

    // Done reading [p, p + n) (inside this map): its whole pages leave the
    // process's resident set (they stay in the page cache and fault back in
    // if read again). Loading copies a 16 GB model into memory; without this
    // the mapped pages it has read would count a second time until unmapped.
    static void drop_pages(const void* p, size_t n);

private:
    std::string path_;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace ap
