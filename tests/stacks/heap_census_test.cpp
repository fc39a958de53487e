// A heap census by type (memx/heap_census.hpp) on real allocations in stack mode: a growing
// std::vector<Node> is found as that vector, make_shared<T> as T, a constructor's own
// allocation as its class; nothing without stack mode.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "memx/heap_census.hpp"
#include "memx/stacks.hpp"
#include "memx/uncounted.hpp"

namespace census_test {

struct Node {
  long id;
  double weight[7];
};

struct Widget {
  std::int64_t parts[16];
};

class Holder {
 public:
  [[gnu::noinline]] explicit Holder(std::size_t n) : data_(new char[n]) {
    asm volatile("" ::"r"(data_) : "memory");
  }
  ~Holder() { delete[] data_; }

 private:
  char* data_;
};

std::vector<Node>* g_nodes = nullptr;

[[gnu::noinline]] void add_nodes(int n) {
  for (int i = 0; i < n; ++i) g_nodes->push_back(Node{i, {}});
}

class HeapCensusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(memx::stacks::enable(32));
    memx::Uncounted guard;
    g_nodes = new std::vector<Node>;
  }
  void TearDown() override {
    {
      memx::Uncounted guard;
      delete g_nodes;
      g_nodes = nullptr;
    }
    memx::stacks::disable();
  }
};

const memx::HeapSnapshot::Difference* find_type(const std::vector<memx::HeapSnapshot::Difference>& v,
                                                const std::string& name) {
  for (const auto& d : v) {
    if (d.type == name) return &d;
  }
  return nullptr;
}

std::string listed(const std::vector<memx::HeapSnapshot::Difference>& v) {
  std::string out;
  for (const auto& d : v) out += memx::describe_type(d) + "\n";
  return out;
}

TEST_F(HeapCensusTest, FindsTheVectorThatGrew) {
  add_nodes(4);
  const memx::HeapCensus before = memx::HeapCensus::take();
  ASSERT_TRUE(before.enabled());
  add_nodes(60);  // the buffer is reallocated, larger: the vector's live bytes grow
  const std::vector<memx::HeapSnapshot::Difference> grew = memx::HeapCensus::take().compare(before);
  const auto* v = find_type(grew, "std::vector<census_test::Node>");
  ASSERT_NE(v, nullptr) << listed(grew);
  EXPECT_EQ(v->type_source, memx::TypeSource::container);
  EXPECT_GE(v->bytes, static_cast<std::int64_t>(64 * sizeof(Node)));
  EXPECT_GT(v->bytes_diff, 0);
  EXPECT_EQ(v->blocks, 1);  // one buffer, moved
  EXPECT_NE(v->where.find("heap_census_test.cpp"), std::string::npos) << v->where;
  EXPECT_NE(memx::describe_type(*v).find("std::vector<census_test::Node> (container; e.g. at "), std::string::npos)
      << memx::describe_type(*v);
  // The largest change is the vector's.
  EXPECT_EQ(&grew.front(), v) << listed(grew);
}

TEST_F(HeapCensusTest, MakeSharedAndAConstructorAreNamedByTheirTypes) {
  const memx::HeapCensus before = memx::HeapCensus::take();
  std::vector<std::shared_ptr<Widget>> keep;
  {
    memx::Uncounted guard;  // the holder vector is not what is counted
    keep.reserve(8);
  }
  for (int i = 0; i < 3; ++i) keep.push_back(std::make_shared<Widget>());
  Holder holder(3000);
  const std::vector<memx::HeapSnapshot::Difference> grew = memx::HeapCensus::take().compare(before);
  const auto* w = find_type(grew, "census_test::Widget");
  ASSERT_NE(w, nullptr) << listed(grew);
  EXPECT_EQ(w->type_source, memx::TypeSource::make_shared);
  EXPECT_EQ(w->blocks_diff, 3);
  const auto* h = find_type(grew, "census_test::Holder");
  ASSERT_NE(h, nullptr) << listed(grew);
  EXPECT_EQ(h->type_source, memx::TypeSource::constructor);
  EXPECT_EQ(h->blocks_diff, 1);
  EXPECT_GE(h->bytes_diff, 3000);
}

TEST(HeapCensusOff, WithoutStackModeItIsEmptyAndSaysSo) {
  memx::stacks::disable();
  const memx::HeapCensus c = memx::HeapCensus::take();
  EXPECT_FALSE(c.enabled());
  EXPECT_TRUE(c.types().empty());
}

}  // namespace census_test
