// populate_ahead (src/sys/populate.hpp): the pages just past an array's last element are
// faulted in ahead of its fill, a step at a time, without changing a byte of it.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "sys/populate.hpp"

namespace {

using Record = std::array<unsigned char, 432>;  // a TestRecord's size

Record record(std::size_t i) {
  Record r;
  for (std::size_t k = 0; k < r.size(); ++k) r[k] = static_cast<unsigned char>(i * 31 + k);
  return r;
}

std::uintptr_t page() { return static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE)); }

// Whether every page of [begin, end) is resident.
bool resident(const char* begin, const char* end) {
  const std::uintptr_t p = page();
  const auto first = reinterpret_cast<std::uintptr_t>(begin) & ~(p - 1);
  const auto last = reinterpret_cast<std::uintptr_t>(end);
  std::vector<unsigned char> in((last - first + p - 1) / p);
  if (::mincore(reinterpret_cast<void*>(first), last - first, in.data()) != 0) return false;
  for (const unsigned char c : in) {
    if ((c & 1) == 0) return false;
  }
  return true;
}

TEST(PopulateAhead, FaultsInTheNextStepAndKeepsEveryElement) {
  std::vector<Record> v;
  v.reserve(10000);  // 4.3 MB: its own mapping, untouched past what is written
  memx::detail::Populated p;
  for (std::size_t i = 0; i < 10000; ++i) {
    v.push_back(record(i));
    memx::detail::populate_ahead(v, p);
    if (p.off) GTEST_SKIP() << "the kernel has no MADV_POPULATE_WRITE";
    const char* const used = reinterpret_cast<const char*>(v.data() + v.size());
    const char* const limit = reinterpret_cast<const char*>(
        reinterpret_cast<std::uintptr_t>(v.data() + v.capacity()) & ~(page() - 1));
    ASSERT_EQ(p.data, reinterpret_cast<const char*>(v.data()));
    ASSERT_EQ(reinterpret_cast<std::uintptr_t>(p.end) % page(), 0u);
    ASSERT_LE(p.end, limit) << "never past the array's last whole page";
    // The next element is in faulted-in pages, unless it reaches the last partial page.
    if (used + sizeof(Record) <= limit) {
      ASSERT_GE(p.end, used + sizeof(Record)) << "at element " << i;
      ASSERT_TRUE(resident(used, used + sizeof(Record))) << "at element " << i;
    }
    // At most one step ahead of the fill (plus the page it stands in).
    ASSERT_LE(p.end, used + sizeof(Record) + memx::detail::kPopulateStep + page());
  }
  for (std::size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], record(i)) << "element " << i;
}

TEST(PopulateAhead, StartsOverOnNewStorageAndLeavesSmallArraysAlone) {
  std::vector<Record> small;
  small.reserve(10);
  memx::detail::Populated none;
  small.push_back(record(0));
  memx::detail::populate_ahead(small, none);
  EXPECT_EQ(none.end, nullptr) << "an array under four steps is not worth a call";

  std::vector<Record> v;
  v.reserve(1000);
  memx::detail::Populated p;
  for (std::size_t i = 0; i < 1000; ++i) {
    v.push_back(record(i));
    memx::detail::populate_ahead(v, p);
  }
  if (p.off) GTEST_SKIP() << "the kernel has no MADV_POPULATE_WRITE";
  v.reserve(5000);  // moved: the old storage is another block's now
  v.push_back(record(1000));
  memx::detail::populate_ahead(v, p);
  EXPECT_EQ(p.data, reinterpret_cast<const char*>(v.data()));
  EXPECT_GE(p.end, reinterpret_cast<const char*>(v.data() + v.size()));
  EXPECT_TRUE(resident(reinterpret_cast<const char*>(v.data() + v.size()),
                       reinterpret_cast<const char*>(v.data() + v.size() + 1)));
  for (std::size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], record(i)) << "element " << i;
}

}  // namespace

namespace {

/// A thread of the test's own that runs the jobs handed to it in order, or refuses them.
class Reader {
 public:
  Reader() : thread_([this] { loop(); }) {
    run = [this](std::function<void()> job) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (refuse) return false;
      jobs_.push_back(std::move(job));
      ++handed;
      work_.notify_one();
      return true;
    };
  }
  ~Reader() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      work_.notify_one();
    }
    thread_.join();
  }
  std::function<bool(std::function<void()>)> run;
  bool refuse = false;  // set before the steps it is to refuse, under no lock: one thread
  std::size_t handed = 0;

  /// Waits until every job handed so far has run.
  void drain() {
    std::unique_lock<std::mutex> lock(mutex_);
    idle_.wait(lock, [this] { return jobs_.empty() && !busy_; });
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      work_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      busy_ = true;
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::microseconds(50));  // lag behind the fill
      job();
      lock.lock();
      busy_ = false;
      idle_.notify_all();
    }
  }
  std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable idle_;
  bool busy_ = false;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

// With another thread: each step is faulted in and read there, a batch of steps per job,
// handed two batches ahead of the fill; the next element is never written where that work
// is under way (the reader lags on purpose, so that some steps are claimed here first; the
// ThreadSanitizer stage of CI runs this test), a step done there is resident, and no
// element changes.
TEST(PopulateAhead, StepsAreReadOnAnotherThreadBeforeTheFillReachesThem) {
  for (const bool refuse : {false, true}) {
    Reader reader;
    std::vector<Record> v;
    v.reserve(10000);
    memx::detail::Populated p;
    for (std::size_t i = 0; i < 10000; ++i) {
      if (refuse && i == 5000) reader.refuse = true;  // exit has begun: read here from now on
      // Now and then the fill waits for the jobs handed so far: the steps ahead of it are
      // then done there (the reader lags, and the fill may overtake it at other times).
      if (i % 1000 == 999) reader.drain();
      v.push_back(record(i));
      memx::detail::populate_ahead(v, p, &reader.run);
      if (p.off) GTEST_SKIP() << "the kernel has no MADV_POPULATE_WRITE";
      const char* const used = reinterpret_cast<const char*>(v.data() + v.size());
      const char* const limit = reinterpret_cast<const char*>(
          reinterpret_cast<std::uintptr_t>(v.data() + v.capacity()) & ~(page() - 1));
      ASSERT_LE(p.end, limit);
      if (used + sizeof(Record) <= limit) {
        // The next element's steps are finished: done there, or claimed here (never both);
        // one done there is resident.
        ASSERT_TRUE(p.steps != nullptr);
        const auto step_of = [&](const char* a) {
          return static_cast<std::size_t>(a - p.steps->base) / memx::detail::kPopulateStep;
        };
        if (used + sizeof(Record) > p.steps->base) {
          for (std::size_t k = used > p.steps->base ? step_of(used) : 0;
               k <= step_of(used + sizeof(Record) - 1) && k < p.faulted; ++k) {
            const unsigned char st = p.steps->state[k].load(std::memory_order_acquire);
            ASSERT_TRUE(memx::detail::PopulateSteps::finished(st))
                << "no work under way where element " << i + 1 << " is written";
            if (st == memx::detail::PopulateSteps::kDone) {
              const char* const begin = p.steps->base + k * memx::detail::kPopulateStep;
              ASSERT_TRUE(resident(begin, std::min(begin + memx::detail::kPopulateStep, limit)))
                  << "step " << k << ", done there";
            }
          }
        }
      }
      // The steps taken as done without looking again (claimed) are done, and the fill
      // has reached them.
      ASSERT_LE(p.claimed, p.faulted);
      if (p.steps != nullptr && used + sizeof(Record) > p.steps->base) {
        // ... and reach the next element's steps once they are faulted in.
        const std::size_t next = static_cast<std::size_t>(used + sizeof(Record) - 1 - p.steps->base) /
                                 memx::detail::kPopulateStep;
        if (next < p.faulted) ASSERT_GT(p.claimed, next) << "at element " << i;
      }
      for (std::size_t k = 0; k < p.claimed; ++k) {
        ASSERT_TRUE(memx::detail::PopulateSteps::finished(p.steps->state[k].load(std::memory_order_acquire)));
        ASSERT_LE(p.steps->base + k * memx::detail::kPopulateStep, used + sizeof(Record));
      }
      // At most two batches and a step ahead of the fill (plus the page it stands in), and
      // every step due but the latest batch's handed.
      ASSERT_LE(p.end, used + sizeof(Record) + (2 * memx::detail::kReadBatch + 1) * memx::detail::kPopulateStep + page());
      ASSERT_LT(p.faulted - p.handed, memx::detail::kReadBatch);
    }
    memx::detail::settle(p);
    std::size_t done_there = 0;
    for (std::size_t k = 0; k < p.faulted; ++k) {
      const unsigned char st = p.steps->state[k].load();
      EXPECT_TRUE(memx::detail::PopulateSteps::finished(st)) << "step " << k;
      done_there += st == memx::detail::PopulateSteps::kDone ? 1 : 0;
    }
    // At each wait for the reader, the steps handed and not reached yet are done there:
    // a step or more at each of the 5 waits before the refusals.
    EXPECT_GE(done_there, 5u);
    // 4.3 MB in 64 KiB steps: 66, all handed, 4 at a time (one wake-up of the reader per
    // batch): 17 batches, of which about half before the refusals.
    EXPECT_EQ(p.faulted, 66u);
    EXPECT_EQ(p.handed, 66u);
    if (refuse) {
      EXPECT_GE(reader.handed, 7u);
      EXPECT_LE(reader.handed, 10u);
    } else {
      EXPECT_EQ(reader.handed, 17u);
    }
    for (std::size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], record(i)) << "element " << i;
  }
}
