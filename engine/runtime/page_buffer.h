// Zeroed, page-aligned memory for a large buffer streamed once per token (a
// code copy): its own anonymous mapping, with 2 MiB pages asked for where the
// kernel offers them (transparent huge pages in "madvise" mode, the Debian
// default, give them only on request). Move-only.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ap {

class PageBuffer {
public:
    PageBuffer() = default;
    explicit PageBuffer(size_t bytes);  // throws std::bad_alloc when the mapping fails
    ~PageBuffer();
    PageBuffer(PageBuffer&& o) noexcept;
    PageBuffer& operator=(PageBuffer&& o) noexcept;
    PageBuffer(const PageBuffer&) = delete;
    PageBuffer& operator=(const PageBuffer&) = delete;

    int8_t* data() const { return p_; }
    size_t size() const { return n_; }

private:
    int8_t* p_ = nullptr;
    size_t n_ = 0;
};

}  // namespace ap
