// The allocated type of a stack (memx/census.hpp), on stacks as libstdc++ and the
// symboliser give them, and the census of a report's sites.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "memx/census.hpp"
#include "memx/sites.hpp"

namespace {

using memx::AllocatedType;
using memx::FrameRecord;
using memx::TypeSource;

FrameRecord frame(const std::string& function, const std::string& file) {
  FrameRecord f;
  f.function = function;
  f.file = file;
  f.line = 10;
  f.module = "/work/app/test_binary";
  return f;
}

// operator new, then `functions` (innermost first), the library's frames from its headers.
std::vector<FrameRecord> stack(std::initializer_list<std::pair<const char*, const char*>> functions) {
  std::vector<FrameRecord> out{frame("operator new(unsigned long)", "")};
  out.front().module = "/usr/lib/x86_64-linux-gnu/libmemx.so";
  for (const auto& [function, file] : functions) out.push_back(frame(function, file));
  return out;
}

AllocatedType type_of(const std::vector<FrameRecord>& frames) {
  return memx::allocated_type(frames, memx::first_user_frame(frames));
}

constexpr const char* kNewAllocator = "/usr/include/c++/12/bits/new_allocator.h";
constexpr const char* kVector = "/usr/include/c++/12/bits/vector.tcc";
constexpr const char* kUser = "/work/app/graph.cpp";

TEST(TypeNames, AsPeopleWriteThem) {
  EXPECT_EQ(memx::simplify_type_name("std::vector<Node, std::allocator<Node> >"), "std::vector<Node>");
  EXPECT_EQ(memx::simplify_type_name(
                "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >"),
            "std::string");
  EXPECT_EQ(memx::simplify_type_name(
                "std::unordered_map<std::__cxx11::basic_string<char, std::char_traits<char>, "
                "std::allocator<char> >, std::vector<int, std::allocator<int> >, "
                "std::hash<std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > >, "
                "std::equal_to<std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > >, "
                "std::allocator<std::pair<std::__cxx11::basic_string<char, std::char_traits<char>, "
                "std::allocator<char> > const, std::vector<int, std::allocator<int> > > > >"),
            "std::unordered_map<std::string, std::vector<int>>");
  EXPECT_EQ(memx::simplify_type_name("std::map<int, Node, std::less<int>, std::allocator<std::pair<int const, Node> > >"),
            "std::map<int, Node>");
  // A first argument is never a default, and a user's own comparator stays.
  EXPECT_EQ(memx::simplify_type_name("std::set<int, ByName, std::allocator<int> >"), "std::set<int, ByName>");
  EXPECT_EQ(memx::simplify_type_name("std::vector<std::allocator<int>, std::allocator<std::allocator<int> > >"),
            "std::vector<std::allocator<int>>");
  EXPECT_EQ(memx::simplify_type_name("operator<<(std::ostream&, Node const&)"), "operator<<(std::ostream&, Node const&)");
  EXPECT_EQ(memx::simplify_type_name("  Node  "), "Node");
  // Unbalanced text is kept as it is, never a crash.
  EXPECT_EQ(memx::simplify_type_name("broken<name"), "broken<name");
}

TEST(AllocatedType, AVectorsBufferIsTheVector) {
  const auto frames = stack({{"std::__new_allocator<graph::Node>::allocate(unsigned long, void const*)", kNewAllocator},
                             {"std::allocator_traits<std::allocator<graph::Node> >::allocate(std::allocator<graph::Node>&, unsigned long)", "/usr/include/c++/12/bits/alloc_traits.h"},
                             {"std::_Vector_base<graph::Node, std::allocator<graph::Node> >::_M_allocate(unsigned long)", "/usr/include/c++/12/bits/stl_vector.h"},
                             {"void std::vector<graph::Node, std::allocator<graph::Node> >::_M_realloc_insert<graph::Node const&>(__gnu_cxx::__normal_iterator<graph::Node*, std::vector<graph::Node, std::allocator<graph::Node> > >, graph::Node const&)", kVector},
                             {"std::vector<graph::Node, std::allocator<graph::Node> >::push_back(graph::Node const&)", "/usr/include/c++/12/bits/stl_vector.h"},
                             {"graph::Graph::add(int)", kUser},
                             {"main", kUser}});
  const AllocatedType t = type_of(frames);
  EXPECT_EQ(t.name, "std::vector<graph::Node>");
  EXPECT_EQ(t.source, TypeSource::container);
}

TEST(AllocatedType, TheOutermostContainerNamesIt) {
  // A map's node holding a string: the map, not the string or the tree inside it.
  const auto frames = stack({{"std::__new_allocator<std::_Rb_tree_node<std::pair<int const, std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > > > >::allocate(unsigned long, void const*)", kNewAllocator},
                             {"std::_Rb_tree<int, std::pair<int const, std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > >, std::_Select1st<std::pair<int const, std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > > >, std::less<int>, std::allocator<std::pair<int const, std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > > > >::_M_get_node()", "/usr/include/c++/12/bits/stl_tree.h"},
                             {"std::map<int, std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >, std::less<int>, std::allocator<std::pair<int const, std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > > > >::operator[](int const&)", "/usr/include/c++/12/bits/stl_map.h"},
                             {"names()", kUser}});
  EXPECT_EQ(type_of(frames).name, "std::map<int, std::string>");
  EXPECT_EQ(type_of(frames).source, TypeSource::container);
}

TEST(AllocatedType, MakeSharedNamesItsType) {
  const auto frames = stack({{"std::__new_allocator<std::_Sp_counted_ptr_inplace<graph::Cache, std::allocator<graph::Cache>, (__gnu_cxx::_Lock_policy)2> >::allocate(unsigned long, void const*)", kNewAllocator},
                             {"std::__shared_count<(__gnu_cxx::_Lock_policy)2>::__shared_count<graph::Cache, std::allocator<graph::Cache>>(graph::Cache*&, std::_Sp_alloc_shared_tag<std::allocator<graph::Cache> >)", "/usr/include/c++/12/bits/shared_ptr_base.h"},
                             {"std::shared_ptr<graph::Cache> std::make_shared<graph::Cache>()", "/usr/include/c++/12/bits/shared_ptr.h"},
                             {"setup()", kUser}});
  EXPECT_EQ(type_of(frames).name, "graph::Cache");
  EXPECT_EQ(type_of(frames).source, TypeSource::make_shared);
}

TEST(AllocatedType, AnAllocatorAloneNamesItsType) {
  const auto frames = stack({{"std::__new_allocator<graph::Edge>::allocate(unsigned long, void const*)", kNewAllocator},
                             {"graph::Pool::grow()", kUser}});
  EXPECT_EQ(type_of(frames).name, "graph::Edge");
  EXPECT_EQ(type_of(frames).source, TypeSource::allocator);
}

TEST(AllocatedType, AConstructorOwnsWhatItAllocates) {
  const auto frames = stack({{"graph::Buffer::Buffer(unsigned long)", kUser}, {"main", kUser}});
  EXPECT_EQ(type_of(frames).name, "graph::Buffer");
  EXPECT_EQ(type_of(frames).source, TypeSource::constructor);
  const auto templated = stack({{"graph::Ring<int>::Ring(unsigned long)", kUser}});
  EXPECT_EQ(type_of(templated).name, "graph::Ring<int>");
  EXPECT_EQ(type_of(templated).source, TypeSource::constructor);
  // A member function is not a constructor; nor is a destructor.
  const auto member = stack({{"graph::Buffer::resize(unsigned long)", kUser}});
  EXPECT_EQ(type_of(member).source, TypeSource::function);
  EXPECT_EQ(type_of(member).name, "graph::Buffer::resize(unsigned long)");
  const auto destructor = stack({{"graph::Buffer::~Buffer()", kUser}});
  EXPECT_EQ(type_of(destructor).source, TypeSource::function);
}

TEST(AllocatedType, OtherwiseTheAllocatingFunction) {
  const auto frames = stack({{"make_buffer(int)", kUser}, {"main", kUser}});
  EXPECT_EQ(type_of(frames).name, "make_buffer(int)");
  EXPECT_EQ(type_of(frames).source, TypeSource::function);
  const std::vector<FrameRecord> nothing;
  EXPECT_EQ(memx::allocated_type(nothing, 0).source, TypeSource::unknown);
}

TEST(Census, AReportsSitesByType) {
  auto site = [](std::int64_t bytes, std::int64_t blocks, std::vector<FrameRecord> frames) {
    memx::SiteRecord s;
    s.bytes = bytes;
    s.blocks = blocks;
    s.frames = std::move(frames);
    s.user_frame = memx::first_user_frame(s.frames);
    return s;
  };
  const auto vec = stack({{"std::vector<graph::Node, std::allocator<graph::Node> >::push_back(graph::Node const&)", kVector},
                          {"graph::Graph::add(int)", kUser}});
  const auto buf = stack({{"graph::Buffer::Buffer(unsigned long)", kUser}});
  memx::TestRecord a, b;
  a.name = "A";
  b.name = "B";
  a.sites = {site(4096, 2, vec), site(100, 1, buf)};
  b.sites = {site(2048, 1, vec)};
  const std::vector<memx::TypeCount> census = memx::census_of_sites({&a, &b});
  ASSERT_EQ(census.size(), 2u);
  EXPECT_EQ(census[0].type.name, "std::vector<graph::Node>");
  EXPECT_EQ(census[0].bytes, 6144);
  EXPECT_EQ(census[0].blocks, 3);
  EXPECT_EQ(census[0].sites, 2u);
  EXPECT_EQ(census[0].tests, 2u);
  EXPECT_NE(census[0].where.find("graph.cpp:10"), std::string::npos) << census[0].where;
  EXPECT_EQ(census[1].type.name, "graph::Buffer");
  EXPECT_EQ(census[1].tests, 1u);
}

}  // namespace
