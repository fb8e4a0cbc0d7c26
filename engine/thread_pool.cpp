#include "thread_pool.h"

#include <chrono>
#include <sched.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AP_PAUSE() _mm_pause()
#else
#define AP_PAUSE() ((void)0)
#endif

namespace ap {

int available_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    unsigned h = std::thread::hardware_concurrency();
    return h > 0 ? int(h) : 1;
}

ThreadPool::ThreadPool(int n_threads) : n_(n_threads > 0 ? n_threads : available_cpus()) {
    for (int i = 1; i < n_; ++i) threads_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        stop_ = true;
        generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
}

static void chunk_of(int n, int align, int parts, int i, int* b, int* e) {
    // Split n into `parts` nearly equal chunks whose edges are multiples of align.
    int units = (n + align - 1) / align;
    int ub = int(int64_t(units) * i / parts), ue = int(int64_t(units) * (i + 1) / parts);
    *b = std::min(n, ub * align);
    *e = std::min(n, ue * align);
}

void ThreadPool::worker(int id) {
    uint64_t seen = 0;
    for (;;) {
        // Spin briefly: decode issues hundreds of small jobs per token and a
        // futex wake-up per job would cost more than the work. Threads never
        // exceed the CPUs we may use, so spinning does not steal a core.
        auto t0 = std::chrono::steady_clock::now();
        uint64_t g;
        int spins = 0;
        while ((g = generation_.load(std::memory_order_acquire)) == seen) {
            AP_PAUSE();
            if (++spins % 1024 == 0 && std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(200)) {
                std::unique_lock<std::mutex> lk(mu_);
                cv_.wait(lk, [&] { return generation_.load(std::memory_order_acquire) != seen; });
            }
        }
        seen = g;
        if (stop_) return;
        int b, e;
        chunk_of(job_n_, job_align_, n_, id, &b, &e);
        if (b < e) (*job_)(b, e);
        pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
}

void ThreadPool::parallel_for(int n, int align, const std::function<void(int, int)>& fn) {
    if (n <= 0) return;
    if (align < 1) align = 1;
    if (n_ == 1 || n <= align) {
        fn(0, n);
        return;
    }
    {
        std::lock_guard<std::mutex> lk(mu_);
        job_ = &fn;
        job_n_ = n;
        job_align_ = align;
        pending_.store(n_ - 1, std::memory_order_relaxed);
        generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    int b, e;
    chunk_of(n, align, n_, 0, &b, &e);
    if (b < e) fn(b, e);
    while (pending_.load(std::memory_order_acquire) != 0) AP_PAUSE();
}

}  // namespace ap
