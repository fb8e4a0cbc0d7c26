#include "thread_pool.h"

#include <algorithm>
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
    for (int i = 1; i < n_; ++i) threads_.emplace_back([this] { worker(); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        stop_ = true;
        gen_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
}

void ThreadPool::run_chunks(uint32_t gen) {
    const auto* fn = job_.load(std::memory_order_acquire);
    const int n = job_n_.load(std::memory_order_acquire), align = job_align_.load(std::memory_order_acquire);
    const int chunks = job_chunks_.load(std::memory_order_acquire);
    const int units = (n + align - 1) / align;
    uint64_t t = ticket_.load(std::memory_order_acquire);
    for (;;) {
        if (uint32_t(t >> 32) != gen) return;  // a newer job: what we read above is stale
        const int i = int(t & 0xffffffffu);
        if (i >= chunks) return;
        if (!ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel)) continue;
        const int b = std::min(n, int(int64_t(units) * i / chunks) * align);
        const int e = std::min(n, int(int64_t(units) * (i + 1) / chunks) * align);
        if (b < e) (*fn)(b, e);
        done_.fetch_add(1, std::memory_order_acq_rel);
        t = ticket_.load(std::memory_order_acquire);
    }
}

void ThreadPool::worker() {
    uint32_t seen = 0;
    for (;;) {
        // Spin briefly (decode issues hundreds of small jobs per token and a
        // futex wake-up each would cost more than the work), yield so a
        // busy machine is not made worse, then sleep.
        auto t0 = std::chrono::steady_clock::now();
        uint32_t g;
        int spins = 0;
        while ((g = gen_.load(std::memory_order_acquire)) == seen) {
            if (++spins < 2000) {
                AP_PAUSE();
                continue;
            }
            sched_yield();
            if (std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(500)) {
                std::unique_lock<std::mutex> lk(mu_);
                sleepers_.fetch_add(1);
                cv_.wait(lk, [&] { return gen_.load(std::memory_order_acquire) != seen; });
                sleepers_.fetch_sub(1);
            }
        }
        seen = g;
        if (stop_.load()) return;
        run_chunks(g);
    }
}

void ThreadPool::parallel_for(int n, int align, const std::function<void(int, int)>& fn) {
    if (n <= 0) return;
    if (align < 1) align = 1;
    const int units = (n + align - 1) / align;
    if (n_ == 1 || units == 1) {
        fn(0, n);
        return;
    }
    // Several chunks per thread: whoever runs takes the next one, so a thread
    // the OS has descheduled does not hold everybody up.
    const int chunks = std::min(units, n_ * 4);
    job_.store(&fn, std::memory_order_release);
    job_n_.store(n, std::memory_order_release);
    job_align_.store(align, std::memory_order_release);
    job_chunks_.store(chunks, std::memory_order_release);
    done_.store(0, std::memory_order_release);
    const uint32_t gen = gen_.load(std::memory_order_relaxed) + 1;
    ticket_.store(uint64_t(gen) << 32, std::memory_order_release);
    if (sleepers_.load(std::memory_order_acquire) > 0) {
        std::lock_guard<std::mutex> lk(mu_);
        gen_.store(gen, std::memory_order_release);
        cv_.notify_all();
    } else {
        gen_.store(gen, std::memory_order_release);
        // A worker may have just decided to sleep; waking it is cheap insurance.
        if (sleepers_.load(std::memory_order_acquire) > 0) {
            std::lock_guard<std::mutex> lk(mu_);
            cv_.notify_all();
        }
    }
    run_chunks(gen);
    int spins = 0;
    while (done_.load(std::memory_order_acquire) < chunks) {
        if (++spins < 2000) AP_PAUSE();
        else sched_yield();
    }
}

}  // namespace ap
