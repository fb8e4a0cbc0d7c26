// Persistent worker threads that split index ranges; no thread is created per call.
#pragma once
#include <atomic>
#include <condition_variable>
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
    // Calls fn(begin, end) over [0, n) split into contiguous chunks, one per
    // thread (the caller runs chunk 0); chunk edges are multiples of `align`.
    // Returns when every chunk is done.
    void parallel_for(int n, int align, const std::function<void(int, int)>& fn);

private:
    void worker(int id);
    int n_;
    std::vector<std::thread> threads_;
    std::mutex mu_;
    std::condition_variable cv_;
    const std::function<void(int, int)>* job_ = nullptr;
    int job_n_ = 0, job_align_ = 1;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    bool stop_ = false;
};

}  // namespace ap
