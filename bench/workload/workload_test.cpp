// memx's own allocation-heavy GoogleTest workload.
//
// The shape of a typical unit-test suite that is hard on the allocator: string-keyed maps,
// vectors grown without reserve, shared_ptr graphs, several threads allocating at once,
// and blocks freed on a different thread than the one that allocated them. Built plain
// and linked with memx (see bench/CMakeLists.txt); run.py times it.
//
// WL_SCALE (integer, default 1) multiplies the number of rounds of every test.
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace {

int rounds(int base) {
  const char* s = std::getenv("WL_SCALE");
  const int scale = s != nullptr ? std::atoi(s) : 1;
  return base * std::max(scale, 1);
}

/// A small deterministic generator, so every build and every run does the same work.
struct Lcg {
  std::uint64_t state;
  std::uint32_t next() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>(state >> 33);
  }
  std::uint32_t below(std::uint32_t n) { return next() % n; }
};

std::string make_key(const char* prefix, std::uint32_t i) {
  std::string key(prefix);
  key += '/';
  key += std::to_string(i);
  key += "/a-suffix-that-defeats-the-small-string-buffer";
  return key;
}

TEST(Workload, StringKeyedMaps) {
  Lcg rng{1};
  for (int r = 0; r < rounds(12); ++r) {
    std::map<std::string, std::vector<std::string>> index;
    std::unordered_map<std::string, std::string> attrs;
    for (std::uint32_t i = 0; i < 12000; ++i) {
      const std::string key = make_key("node", rng.below(6000));
      index[key].push_back(std::string(24 + i % 40, 'v'));
      attrs.emplace(make_key("attr", i), key);
    }
    // Erase half, then re-insert: frees and allocations interleave in the same sizes.
    for (auto it = index.begin(); it != index.end();) {
      it = (rng.next() & 1) != 0 ? index.erase(it) : std::next(it);
    }
    for (std::uint32_t i = 0; i < 3000; ++i) index[make_key("late", i)].emplace_back(48, 'w');
    ASSERT_GE(index.size(), 3000u);
    ASSERT_EQ(attrs.size(), 12000u);
  }
}

TEST(Workload, VectorGrowth) {
  for (int r = 0; r < rounds(60); ++r) {
    std::vector<std::vector<std::uint32_t>> rows;
    std::vector<std::string> names;
    for (std::uint32_t i = 0; i < 3000; ++i) {
      rows.emplace_back();
      for (std::uint32_t j = 0; j < 8 + i % 24; ++j) rows.back().push_back(i ^ j);
      if (i % 3 == 0) names.push_back(make_key("row", i));
    }
    std::sort(names.begin(), names.end());
    std::vector<std::vector<std::uint32_t>> copy = rows;  // one more allocation per row
    ASSERT_EQ(copy.size(), 3000u);
    ASSERT_EQ(names.size(), 1000u);
  }
}

struct Node {
  explicit Node(std::uint32_t v) : value(v) {}
  std::uint32_t value;
  std::vector<std::shared_ptr<Node>> children;
  std::weak_ptr<Node> parent;
};

TEST(Workload, SharedPtrChurn) {
  Lcg rng{2};
  for (int r = 0; r < rounds(20); ++r) {
    std::vector<std::shared_ptr<Node>> pool;
    pool.reserve(4096);
    for (std::uint32_t i = 0; i < 4096; ++i) pool.push_back(std::make_shared<Node>(i));
    for (std::uint32_t i = 0; i < 40000; ++i) {
      auto& slot = pool[rng.below(4096)];
      if (i % 4 == 0) {
        slot = std::shared_ptr<Node>(new Node(i));  // separate control block: two blocks
      } else {
        auto child = std::make_shared<Node>(i);
        child->parent = slot;
        slot->children.push_back(std::move(child));
        if (slot->children.size() > 6) slot->children.clear();
      }
    }
    ASSERT_EQ(pool.size(), 4096u);
  }
}

TEST(Workload, ThreadsAllocatingTogether) {
  std::vector<std::thread> threads;
  for (std::uint32_t t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      Lcg rng{10 + t};
      for (int r = 0; r < rounds(12); ++r) {
        std::unordered_map<std::uint32_t, std::string> cache;
        std::deque<std::vector<char>> queue;
        for (std::uint32_t i = 0; i < 12000; ++i) {
          cache[rng.below(8000)] = std::string(20 + i % 50, 'c');
          queue.emplace_back(16 + i % 200);
          if (queue.size() > 64) queue.pop_front();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
}

/// Blocks allocated by one thread and freed by another, in batches through a queue.
TEST(Workload, CrossThreadFrees) {
  using Batch = std::vector<std::unique_ptr<std::string>>;
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<Batch> handoff;
  bool done = false;

  std::thread consumer([&] {
    std::unordered_set<std::size_t> lengths;
    for (;;) {
      Batch batch;
      {
        std::unique_lock<std::mutex> lock(mutex);
        ready.wait(lock, [&] { return done || !handoff.empty(); });
        if (handoff.empty()) return;
        batch = std::move(handoff.front());
        handoff.pop_front();
      }
      for (const auto& s : batch) lengths.insert(s->size());
      // batch goes out of scope here: every string is freed on this thread
    }
  });

  const int batches = rounds(300);
  for (int b = 0; b < batches; ++b) {
    Batch batch;
    for (std::uint32_t i = 0; i < 1000; ++i) {
      batch.push_back(std::make_unique<std::string>(32 + (i * 7) % 96, 'x'));
    }
    std::lock_guard<std::mutex> lock(mutex);
    handoff.push_back(std::move(batch));
    ready.notify_one();
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    done = true;
  }
  ready.notify_one();
  consumer.join();
  EXPECT_TRUE(handoff.empty());
}

}  // namespace
