// A producer thread allocates blocks that a consumer thread frees, through a bounded queue
// that allocates nothing itself: a workload whose true live peak is known (the queue's
// capacity, which it reaches before the consumer starts) while 100 MB pass through it.
// Each thread's own high-water mark is useless here (the producer's is all it ever made);
// memx's peak must stay within its stated bound of the true one (docs/how-it-works.md: "peak").
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

#include "memx/counters.hpp"

namespace memx_test {

struct ProducerConsumer {
  static constexpr std::size_t kCapacity = 2048;  // blocks in flight at most
  static constexpr std::size_t kBlock = 1000;
  static constexpr int kTotal = 100000;

  std::int64_t block_usable = 0;  // usable size of one block, measured by the producer

  /// The true live peak of the run lies in [min_true_peak(), max_true_peak()] above the start
  /// (plus the two std::thread states, a few hundred bytes).
  std::int64_t min_true_peak() const { return static_cast<std::int64_t>(kCapacity) * block_usable; }
  std::int64_t max_true_peak() const {
    return static_cast<std::int64_t>(kCapacity + 1) * block_usable + 1024;
  }
  /// memx's stated error above the true peak: two publishing batches (64 KiB) for each
  /// thread that allocated or freed (producer, consumer, the thread starting them).
  static constexpr std::int64_t kStatedError = 3 * 2 * 64 * 1024;

  void run() {
    static char* ring[kCapacity];  // static storage: the queue allocates nothing
    std::size_t head = 0, tail = 0;
    std::mutex m;
    std::condition_variable cv;
    std::thread consumer([&] {
      {  // start once the queue is full: the true peak is then at least its capacity
        std::unique_lock<std::mutex> lock(m);
        cv.wait(lock, [&] { return head == kCapacity; });
      }
      for (int i = 0; i < kTotal; ++i) {
        std::unique_lock<std::mutex> lock(m);
        cv.wait(lock, [&] { return head != tail; });
        char* p = ring[tail % kCapacity];
        ++tail;
        lock.unlock();
        cv.notify_all();
        delete[] p;
      }
    });
    std::thread producer([&] {
      for (int i = 0; i < kTotal; ++i) {
        char* p = new char[kBlock];
        p[0] = static_cast<char>(i);
        if (i == 0) block_usable = static_cast<std::int64_t>(memx::usable_size(p));
        std::unique_lock<std::mutex> lock(m);
        cv.wait(lock, [&] { return head - tail < kCapacity; });
        ring[head % kCapacity] = p;
        ++head;
        lock.unlock();
        cv.notify_all();
      }
    });
    producer.join();
    consumer.join();
  }
};

}  // namespace memx_test
