// A computation run off the UI thread for one view (a replay, a cache sweep, applying a routing
// policy), keyed on what it was started for; the view polls it every frame and draws "working"
// until it is done, so no frame waits for it. Work is given its inputs by value or shared_ptr
// (loaded runs never change), never references into AppState.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <vector>

namespace moescope::ui {

template <class T>
class BackgroundJob {
 public:
  // Starts `work` for `key` unless this key's job is running or done. A job for another key is
  // abandoned (it finishes in the background and its result is dropped).
  void ensure(uint64_t key, std::function<T()> work) {
    if (started_ && key_ == key) return;
    start(key, std::move(work));
  }
  // Starts `work` for `key` even if this key ran before (a button press).
  void start(uint64_t key, std::function<T()> work) {
    if (future_.valid()) abandoned_.push_back(std::move(future_));
    key_ = key;
    started_ = true;
    result_.reset();
    error_.clear();
    future_ = std::async(std::launch::async, std::move(work));
  }
  bool running() {
    poll();
    return future_.valid();
  }
  // The finished result for the current key, or null.
  const T* result() {
    poll();
    return result_ ? &*result_ : nullptr;
  }
  // What the work threw (one line), or "".
  const std::string& error() {
    poll();
    return error_;
  }
  uint64_t key() const { return key_; }
  void forget() {
    if (future_.valid()) abandoned_.push_back(std::move(future_));
    started_ = false;
    result_.reset();
    error_.clear();
  }

 private:
  static bool ready(const std::future<T>& f) {
    return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  }
  void poll() {
    std::erase_if(abandoned_, [](const std::future<T>& f) { return ready(f); });
    if (!future_.valid() || !ready(future_)) return;
    try {
      result_ = future_.get();
    } catch (const std::exception& e) {
      error_ = e.what();
    }
  }

  uint64_t key_ = 0;
  bool started_ = false;
  std::future<T> future_;
  std::vector<std::future<T>> abandoned_;  // destroying a running std::async future would block the frame
  std::optional<T> result_;
  std::string error_;
};

}  // namespace moescope::ui
