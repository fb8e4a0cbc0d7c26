// Persistent worker threads that split index ranges; no thread is created per call.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ap {

// CPUs this process may run on (sched_getaffinity), at least 1.
int available_cpus();

class ThreadPool {
public:
    explicit ThreadPool(int n_threads);  // n_threads <= 0: available_cpus()
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_; }
    // Calls fn(begin, end) over [0, n) in contiguous chunks whose edges are
    // multiples of `align`; the caller takes part. Returns when all are done.
    void parallel_for(int n, int align, const std::function<void(int, int)>& fn);

private:
    void worker();
    void run_chunks(uint32_t gen);
    int n_;
    std::vector<std::thread> threads_;
    std::mutex mu_;
    std::condition_variable cv_;
    // The current job. Chunks are claimed through `ticket_` = (generation << 32 | next chunk),
    // so a late worker can never claim a chunk of a newer job with an older job's view.
    std::atomic<const std::function<void(int, int)>*> job_{nullptr};
    std::atomic<int> job_n_{0}, job_align_{1}, job_chunks_{0};
    std::atomic<uint64_t> ticket_{0};
    std::atomic<uint32_t> gen_{0};
    std::atomic<int> done_{0};
    std::atomic<int> sleepers_{0};
    std::atomic<bool> stop_{false};
};

}  // namespace ap
