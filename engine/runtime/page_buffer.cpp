#include "page_buffer.h"

#include <new>
#include <utility>

#include <sys/mman.h>

namespace ap {

PageBuffer::PageBuffer(size_t bytes) : n_(bytes) {
    if (bytes == 0) return;
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    // Before the first touch, so the pages come huge; advice only: failure is harmless.
    if (bytes >= (size_t(2) << 20)) ::madvise(p, bytes, MADV_HUGEPAGE);
#endif
    p_ = static_cast<int8_t*>(p);
}

PageBuffer::~PageBuffer() {
    if (p_) ::munmap(p_, n_);
}

PageBuffer::PageBuffer(PageBuffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}

PageBuffer& PageBuffer::operator=(PageBuffer&& o) noexcept {
    if (this != &o) {
        if (p_) ::munmap(p_, n_);
        p_ = std::exchange(o.p_, nullptr);
        n_ = std::exchange(o.n_, 0);
    }
    return *this;
}

}  // namespace ap
