// memx::RequestScope: one thread's figures, nesting, exceptions, handoffs to other threads
// and a scope closed on the wrong thread.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "measure.hpp"
#include "memx/counters.hpp"
#include "memx/request_scope.hpp"
#include "memx/uncounted.hpp"

namespace {

using memx::RequestScope;
using memx::RequestUsage;
using memx::test::escape;

/// Usable size of a block of n bytes (mimalloc rounds up to its size classes).
std::int64_t usable(std::size_t n) {
  char* p = new char[n];
  escape(p);
  const auto size = static_cast<std::int64_t>(memx::usable_size(p));
  delete[] p;
  return size;
}

/// Allocates and frees n bytes.
void transient(std::size_t n) {
  char* p = new char[n];
  escape(p);
  p[0] = 1;
  delete[] p;
}

/// Raises the calling thread's high-water mark far above its level: the case where a
/// request's peak cannot be read from the mark without a new epoch.
void dirty_mark() {
  transient(4 << 20);
}

TEST(RequestScope, ExactFiguresOfTheCallingThread) {
  dirty_mark();
  std::unique_ptr<char[]> kept;
  RequestScope scope;
  {
    std::unique_ptr<char[]> temp(new char[30000]);
    escape(temp.get());
    kept.reset(new char[1000]);
    escape(kept.get());
  }
  const RequestUsage u = scope.stop();
  EXPECT_EQ(u.allocs, 2u);
  EXPECT_EQ(u.frees, 1u);
  EXPECT_EQ(u.delta_bytes, usable(1000));
  EXPECT_EQ(u.bytes_allocated, static_cast<std::uint64_t>(usable(30000) + usable(1000)));
  EXPECT_EQ(u.peak_bytes, usable(30000) + usable(1000)) << "not the 4 MiB mark from before";
  EXPECT_TRUE(u.peak_exact);
  EXPECT_TRUE(u.complete);
  EXPECT_FALSE(u.unwound);
  EXPECT_EQ(u.threads, 1u);
  const RequestUsage again = scope.stop();
  EXPECT_EQ(again.delta_bytes, u.delta_bytes) << "stop() is idempotent";
  EXPECT_EQ(scope.usage().allocs, u.allocs);
}

TEST(RequestScope, OtherThreadsDoNotMixIn) {
  std::atomic<bool> stop{false};
  std::atomic<int> rounds{0};
  std::thread noisy([&] {
    std::vector<std::unique_ptr<char[]>> hold;
    while (!stop.load()) {
      hold.emplace_back(new char[100000]);
      if (hold.size() > 8) hold.clear();
      rounds.fetch_add(1);
    }
  });
  while (rounds.load() < 10) std::this_thread::yield();
  RequestScope scope;
  for (int i = 0; i < 50; ++i) transient(5000);
  while (rounds.load() < 100) std::this_thread::yield();  // the noisy thread runs meanwhile
  const RequestUsage u = scope.stop();
  stop = true;
  noisy.join();
  EXPECT_EQ(u.allocs, 50u);
  EXPECT_EQ(u.frees, 50u);
  EXPECT_EQ(u.delta_bytes, 0);
  EXPECT_EQ(u.peak_bytes, usable(5000));
}

TEST(RequestScope, OpenedInsideAnUncountedGuardCountsFromTheGuardsEnd) {
  dirty_mark();
  std::optional<RequestScope> scope;
  {
    memx::Uncounted guard;
    scope.emplace();
    transient(8000);  // not counted
  }
  transient(1000);
  const RequestUsage u = scope->stop();
  EXPECT_EQ(u.allocs, 1u);
  EXPECT_EQ(u.peak_bytes, usable(1000));
  EXPECT_TRUE(u.peak_exact);
}

TEST(RequestScope, UsageWhileOpenKeepsCounting) {
  RequestScope scope;
  std::unique_ptr<char[]> a(new char[2000]);
  escape(a.get());
  const RequestUsage mid = scope.usage();
  std::unique_ptr<char[]> b(new char[2000]);
  escape(b.get());
  const RequestUsage end = scope.stop();
  EXPECT_EQ(mid.allocs, 1u);
  EXPECT_EQ(mid.delta_bytes, usable(2000));
  EXPECT_EQ(end.allocs, 2u);
  EXPECT_EQ(end.delta_bytes, 2 * usable(2000));
}

TEST(RequestScope, NestedScopesInnerIsPartOfOuter) {
  dirty_mark();
  std::unique_ptr<char[]> a, b;
  RequestScope outer;
  a.reset(new char[3000]);
  escape(a.get());
  RequestUsage inner_u;
  {
    RequestScope inner;
    b.reset(new char[7000]);
    escape(b.get());
    inner_u = inner.stop();
  }
  const RequestUsage outer_u = outer.stop();
  EXPECT_EQ(inner_u.delta_bytes, usable(7000));
  EXPECT_EQ(inner_u.allocs, 1u);
  EXPECT_EQ(inner_u.peak_bytes, usable(7000));
  EXPECT_TRUE(inner_u.peak_exact) << "the thread was at its mark when the inner scope opened";
  EXPECT_EQ(outer_u.delta_bytes, usable(3000) + usable(7000));
  EXPECT_EQ(outer_u.allocs, 2u);
  EXPECT_EQ(outer_u.peak_bytes, usable(3000) + usable(7000));
  EXPECT_TRUE(outer_u.peak_exact);
}

TEST(RequestScope, NestedScopeBelowTheMarkIsExact) {
  RequestScope outer;
  transient(50000);  // the outer's peak: the thread's mark is now above its level
  RequestUsage inner_u;
  {
    RequestScope inner;  // restarts the thread's mark; the outer keeps the old one
    transient(1000);
    transient(1000);
    inner_u = inner.stop();
  }
  const RequestUsage outer_u = outer.stop();
  EXPECT_TRUE(inner_u.peak_exact);
  EXPECT_EQ(inner_u.peak_bytes, usable(1000));
  EXPECT_EQ(inner_u.delta_bytes, 0);
  EXPECT_EQ(inner_u.allocs, 2u);
  EXPECT_TRUE(outer_u.peak_exact);
  EXPECT_EQ(outer_u.peak_bytes, usable(50000));
}

TEST(RequestScope, OuterScopeSeesAPeakMadeAfterTheInnerClosed) {
  RequestScope outer;
  transient(1000);
  {
    RequestScope inner;
    transient(2000);
  }
  transient(30000);  // after the inner: in the segment its opening started
  const RequestUsage u = outer.stop();
  EXPECT_TRUE(u.peak_exact);
  EXPECT_EQ(u.peak_bytes, usable(30000));
}

TEST(RequestScope, ScopesOpenOnOtherThreadsDoNotSpoilAnExactPeak) {
  std::mutex m;
  std::condition_variable cv;
  bool opened = false, done = false;
  RequestUsage theirs;
  std::thread other([&] {
    RequestScope scope;
    transient(3000);
    {
      std::unique_lock<std::mutex> lock(m);
      opened = true;
      cv.notify_all();
      cv.wait(lock, [&] { return done; });
    }
    theirs = scope.stop();
  });
  {
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return opened; });
  }
  dirty_mark();  // this thread's mark far above its level, another request open
  RequestScope scope;
  transient(7000);
  const RequestUsage u = scope.stop();
  {
    std::lock_guard<std::mutex> lock(m);
    done = true;
    cv.notify_all();
  }
  other.join();
  EXPECT_TRUE(u.peak_exact);
  EXPECT_EQ(u.peak_bytes, usable(7000));
  EXPECT_TRUE(theirs.peak_exact);
  EXPECT_EQ(theirs.peak_bytes, usable(3000));
}

TEST(RequestScope, AnEpochEndingDuringTheScopeKeepsItsPeakExact) {
  RequestScope scope;
  transient(30000);
  memx::reset_peak();  // what a test framework does when a test starts
  transient(10000);
  memx::PeakWindow window;  // also ends an epoch
  transient(20000);
  const RequestUsage u = scope.stop();
  EXPECT_TRUE(u.peak_exact);
  EXPECT_EQ(u.peak_bytes, usable(30000));
}

TEST(RequestScope, OpeningAScopeLeavesTheProcessPeakAlone) {
  memx::PeakWindow window;
  transient(80000);
  {
    RequestScope scope;  // restarts this thread's mark below 80000
    transient(1000);
  }
  EXPECT_EQ(window.peak_bytes(), window.start_bytes() + usable(80000));
  EXPECT_GE(memx::this_thread_counters().peak_bytes, usable(80000));
  transient(90000);  // above the old mark, after the restart
  EXPECT_EQ(window.peak_bytes(), window.start_bytes() + usable(90000));
}

TEST(RequestScope, ExceptionClosesTheScopeThroughItsDestructor) {
  RequestUsage seen;
  int calls = 0;
  std::unique_ptr<char[]> kept;
  try {
    RequestScope scope([&](const RequestUsage& u) {
      seen = u;
      ++calls;
    });
    kept.reset(new char[4000]);
    escape(kept.get());
    throw 42;  // an int: the exception object is not allocated with operator new
  } catch (int) {
  }
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(seen.unwound);
  EXPECT_TRUE(seen.complete);
  EXPECT_EQ(seen.allocs, 1u);
  EXPECT_EQ(seen.delta_bytes, usable(4000));
}

TEST(RequestScope, OnCloseRunsOnceAndItsExceptionIsDropped) {
  int calls = 0;
  {
    RequestScope scope([&](const RequestUsage&) {
      ++calls;
      throw 1;
    });
    EXPECT_NO_THROW(scope.stop());
    EXPECT_FALSE(scope.usage().unwound);
  }
  EXPECT_EQ(calls, 1);
}

TEST(RequestScope, HandoffCountsTheAttachedThread) {
  std::unique_ptr<char[]> from_worker, from_owner;
  std::atomic<const RequestScope::Handoff*> token{nullptr};
  std::atomic<bool> done{false};
  // Started before the scope, so that starting it is not in the owner's figures.
  std::thread worker([&] {
    const RequestScope::Handoff* h = nullptr;
    while ((h = token.load()) == nullptr) std::this_thread::yield();
    {
      RequestScope::Attach attached(*h);
      transient(20000);
      from_worker.reset(new char[6000]);
      escape(from_worker.get());
    }
    done = true;
  });
  RequestScope scope;
  const RequestScope::Handoff h = scope.handoff();
  token = &h;
  while (!done.load()) std::this_thread::yield();
  from_owner.reset(new char[500]);
  escape(from_owner.get());
  const RequestUsage u = scope.stop();
  worker.join();
  EXPECT_EQ(u.threads, 2u);
  EXPECT_TRUE(u.complete);
  EXPECT_EQ(u.allocs, 3u);
  EXPECT_EQ(u.frees, 1u);
  EXPECT_EQ(u.delta_bytes, usable(6000) + usable(500));
  EXPECT_EQ(u.bytes_allocated,
            static_cast<std::uint64_t>(usable(20000) + usable(6000) + usable(500)));
  // Each thread's own peak, summed: an upper bound of the request's, and said to be one.
  EXPECT_EQ(u.peak_bytes, usable(20000) + usable(500));
  EXPECT_FALSE(u.peak_exact) << "two threads were active";
}

TEST(RequestScope, AttachOnTheScopesOwnThreadAddsNothing) {
  RequestScope scope;
  {
    RequestScope::Attach same(scope.handoff());
    transient(3000);
  }
  const RequestUsage u = scope.stop();
  EXPECT_EQ(u.threads, 1u);
  EXPECT_EQ(u.allocs, 1u);
}

TEST(RequestScope, AttachStillOpenAtStopMakesTheResultIncomplete) {
  std::mutex m;
  std::condition_variable cv;
  bool attached = false, stopped = false;
  std::thread worker;
  RequestUsage u;
  {
    RequestScope scope;
    worker = std::thread([&, token = scope.handoff()] {
      RequestScope::Attach a(token);
      {
        std::unique_lock<std::mutex> lock(m);
        attached = true;
        cv.notify_all();
        cv.wait(lock, [&] { return stopped; });
      }
      transient(1000);  // after the scope stopped: dropped, and no crash
    });
    {
      std::unique_lock<std::mutex> lock(m);
      cv.wait(lock, [&] { return attached; });
    }
    u = scope.stop();
  }  // the scope is gone before the Attach: the token keeps what they share alive
  {
    std::lock_guard<std::mutex> lock(m);
    stopped = true;
  }
  cv.notify_all();
  worker.join();
  EXPECT_FALSE(u.complete);
  EXPECT_EQ(u.threads, 1u);
  // A token used after its scope is gone, and an empty token: count nowhere.
  RequestScope::Handoff stale;
  {
    RequestScope gone;
    stale = gone.handoff();
  }
  RequestScope::Attach late(stale);
  RequestScope::Attach nothing{RequestScope::Handoff()};
}

TEST(RequestScope, StoppedOnAnotherThreadLeavesTheOpenersFiguresOut) {
  RequestUsage seen;
  auto scope = std::make_unique<RequestScope>([&](const RequestUsage& u) { seen = u; });
  transient(1000);
  std::thread other([&] { scope.reset(); });  // destroyed there: documented, no crash
  other.join();
  EXPECT_FALSE(seen.complete);
  EXPECT_EQ(seen.threads, 0u);
  EXPECT_EQ(seen.allocs, 0u);
  // The opener's peak watch was left behind on it: the next scope here is still exact.
  RequestScope next;
  transient(2000);
  const RequestUsage u = next.stop();
  EXPECT_TRUE(u.peak_exact);
  EXPECT_EQ(u.peak_bytes, usable(2000));
}

TEST(RequestScope, AttachDestroyedOnAnotherThreadMakesTheResultIncomplete) {
  RequestScope scope;
  std::unique_ptr<RequestScope::Attach> attach;
  std::thread worker([&] {
    attach = std::make_unique<RequestScope::Attach>(scope.handoff());
    transient(1000);
  });
  worker.join();
  attach.reset();  // on this thread, not the attached one: documented, no crash
  const RequestUsage u = scope.stop();
  EXPECT_FALSE(u.complete);
  EXPECT_EQ(u.threads, 1u);  // this thread only: the attached part could not be read
}

}  // namespace
