#include "core/cpu/thread_pool.h"

#include <algorithm>
#include <string>
#include <system_error>

#include "core/error.h"

namespace moescope {

ThreadPool::ThreadPool(int n_threads) {
  int n = n_threads > 0 ? n_threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  try {
    for (int i = 1; i < n; ++i) workers_.emplace_back([this] { worker_loop(); });
  } catch (const std::system_error& e) {
    // A process or memory limit (EAGAIN): the threads that did start are stopped and joined here,
    // since the destructor does not run for a constructor that throws.
    const size_t started = workers_.size() + 1;
    stop_and_join();
    throw ResourceError("cannot start CPU thread " + std::to_string(started + 1) + " of " +
                        std::to_string(n) + " (" + e.what() + "); ask for fewer with --threads");
  } catch (...) {
    stop_and_join();
    throw;
  }
}

ThreadPool::~ThreadPool() { stop_and_join(); }

void ThreadPool::stop_and_join() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
}

void ThreadPool::run_chunks() {
  for (;;) {
    int64_t begin;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (next_begin_ >= job_n_) return;
      begin = next_begin_;
      next_begin_ = std::min(job_n_, next_begin_ + job_chunk_);
    }
    (*job_)(begin, std::min(job_n_, begin + job_chunk_));
  }
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      ++busy_;
    }
    run_chunks();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --busy_;
    }
    work_done_.notify_all();
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  const int64_t chunk = std::max<int64_t>(grain, (n + 4 * size() - 1) / (4 * size()));
  if (workers_.empty() || n <= chunk) {
    fn(0, n);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    job_n_ = n;
    job_chunk_ = chunk;
    next_begin_ = 0;
    ++generation_;
  }
  work_ready_.notify_all();
  run_chunks();
  std::unique_lock<std::mutex> lock(mutex_);
  work_done_.wait(lock, [&] { return busy_ == 0 && next_begin_ >= job_n_; });
  job_ = nullptr;
}

}  // namespace moescope
