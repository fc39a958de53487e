// The allocated type of a call stack: memx/census.hpp.
#include "memx/census.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <map>
#include <set>

#include "memx/sites.hpp"

namespace memx {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// The index just past the '>' closing the '<' at `open`; npos when unbalanced. Parentheses
// count too (function types in template arguments).
std::size_t close_of(std::string_view s, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '<' || c == '(') ++depth;
    if (c == '>' || c == ')') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

// The template arguments between s[open] == '<' and its '>' (depth-0 commas split them).
std::vector<std::string_view> arguments(std::string_view s, std::size_t open, std::size_t end) {
  std::vector<std::string_view> out;
  int depth = 0;
  std::size_t from = open + 1;
  for (std::size_t i = open + 1; i + 1 < end; ++i) {
    const char c = s[i];
    if (c == '<' || c == '(') ++depth;
    if (c == '>' || c == ')') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(trim(s.substr(from, i - from)));
      from = i + 1;
    }
  }
  out.push_back(trim(s.substr(from, end - 1 - from)));
  return out;
}

// Template arguments that are a library's defaults: left out of names after the first.
bool default_argument(std::string_view a) {
  static constexpr std::array<std::string_view, 6> kDefaults = {
      "std::allocator<", "std::less<", "std::hash<", "std::equal_to<", "std::char_traits<",
      "std::default_delete<"};
  return std::any_of(kDefaults.begin(), kDefaults.end(), [&](std::string_view d) { return starts_with(a, d); });
}

std::string simplify(std::string_view s, int depth) {
  std::string out;
  if (depth > 32) return std::string(s);
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t lt = s.find('<', i);
    if (lt == std::string_view::npos) {
      out.append(s.substr(i));
      break;
    }
    // "operator<" and "operator<<" are names, not template argument lists.
    if (s.substr(0, lt).size() >= 8 && s.substr(lt - 8, 8) == "operator") {
      const std::size_t skip = lt + 1 < s.size() && s[lt + 1] == '<' ? 2 : 1;
      out.append(s.substr(i, lt + skip - i));
      i = lt + skip;
      continue;
    }
    const std::size_t end = close_of(s, lt);
    if (end == std::string_view::npos) {
      out.append(s.substr(i));
      break;
    }
    out.append(s.substr(i, lt - i));
    std::vector<std::string> args;
    for (const std::string_view a : arguments(s, lt, end)) args.push_back(simplify(a, depth + 1));
    while (args.size() > 1 && default_argument(args.back())) args.pop_back();
    out += '<';
    for (std::size_t k = 0; k < args.size(); ++k) {
      if (k > 0) out += ", ";
      out += args[k];
    }
    out += '>';
    i = end;
  }
  // Names people write.
  auto replace_all = [&](std::string_view from, std::string_view to) {
    for (std::size_t at = out.find(from); at != std::string::npos; at = out.find(from, at + to.size())) {
      out.replace(at, from.size(), to);
    }
  };
  replace_all("std::__cxx11::", "std::");
  replace_all("std::basic_string<char>", "std::string");
  replace_all("std::basic_string<wchar_t>", "std::wstring");
  replace_all("> >", ">>");
  return out;
}

// The class template instance starting at `at` (a prefix such as "std::vector<"), as written.
std::string_view class_at(std::string_view f, std::size_t at, std::size_t prefix) {
  const std::size_t lt = at + prefix - 1;
  const std::size_t end = close_of(f, lt);
  if (end == std::string_view::npos) return {};
  return f.substr(at, end - at);
}

// The first template argument of the instance starting at `at`.
std::string_view first_argument(std::string_view f, std::size_t at, std::size_t prefix) {
  const std::size_t lt = at + prefix - 1;
  const std::size_t end = close_of(f, lt);
  if (end == std::string_view::npos) return {};
  return arguments(f, lt, end).front();
}

// The first template argument after the first of `prefixes` (each ending in '<') named in
// `f` and followed somewhere by `then` (when given); empty when none is.
std::string_view argument_after(std::string_view f, std::initializer_list<std::string_view> prefixes,
                                std::string_view then = {});

// Finds `name` in a demangled function name as a whole qualified name (not inside another
// identifier): at the start or after a space, '(' , '<' or ','.
std::size_t find_name(std::string_view f, std::string_view name) {
  for (std::size_t at = f.find(name); at != std::string_view::npos; at = f.find(name, at + 1)) {
    if (at == 0) return at;
    const char c = f[at - 1];
    if (c == ' ' || c == '(' || c == '<' || c == ',') return at;
  }
  return std::string_view::npos;
}

std::string_view argument_after(std::string_view f, std::initializer_list<std::string_view> prefixes,
                                std::string_view then) {
  for (const std::string_view p : prefixes) {
    const std::size_t at = find_name(f, p);
    if (at == std::string_view::npos) continue;
    const std::string_view t = first_argument(f, at, p.size());
    if (!t.empty() && (then.empty() || f.find(then, at) != std::string_view::npos)) return t;
  }
  return {};
}

constexpr std::array<std::string_view, 21> kContainers = {
    "std::vector<",        "std::deque<",         "std::__cxx11::list<",  "std::list<",
    "std::forward_list<",  "std::map<",           "std::multimap<",       "std::set<",
    "std::multiset<",      "std::unordered_map<", "std::unordered_multimap<",
    "std::unordered_set<", "std::unordered_multiset<", "std::__cxx11::basic_string<",
    "std::basic_string<",  "std::function<",      "std::queue<",          "std::stack<",
    "std::priority_queue<", "std::__cxx11::basic_stringstream<", "std::basic_stringstream<"};

// The container class a frame is a member of: the class part of "R std::vector<...>::f(...)".
std::string_view container_of(std::string_view f) {
  for (const std::string_view c : kContainers) {
    const std::size_t at = find_name(f, c);
    if (at == std::string_view::npos) continue;
    const std::string_view cls = class_at(f, at, c.size());
    // A member of the container ("...>::push_back(" or "...>::vector("), not an argument.
    if (!cls.empty() && f.substr(at + cls.size(), 2) == "::") return cls;
  }
  return {};
}

// "X::X(...)" (or "ns::X<T>::X(...)"): the class X, else empty.
std::string_view constructed_class(std::string_view f) {
  const std::size_t paren = [&] {
    int depth = 0;
    for (std::size_t i = 0; i < f.size(); ++i) {
      if (f[i] == '<') ++depth;
      if (f[i] == '>') --depth;
      if (f[i] == '(' && depth == 0) return i;
    }
    return std::string_view::npos;
  }();
  if (paren == std::string_view::npos) return {};
  const std::string_view head = f.substr(0, paren);
  const std::size_t sep = head.rfind("::");
  if (sep == std::string_view::npos || sep == 0) return {};
  const std::string_view member = head.substr(sep + 2);
  std::string_view cls = head.substr(0, sep);
  // The class's own name: its last component without template arguments.
  std::string_view last = cls;
  int depth = 0;
  for (std::size_t i = cls.size(); i-- > 0;) {
    if (cls[i] == '>') ++depth;
    if (cls[i] == '<') --depth;
    if (depth == 0 && i > 0 && cls[i] == ':' && cls[i - 1] == ':') {
      last = cls.substr(i + 1);
      break;
    }
  }
  const std::size_t lt = last.find('<');
  if (lt != std::string_view::npos) last = last.substr(0, lt);
  if (member.empty() || member != last) return {};
  // A return type would precede a constructor's name only in a template's demangled form;
  // constructors have none.
  const std::size_t space = cls.rfind(' ');
  if (space != std::string_view::npos && cls.find('<') > space) cls = cls.substr(space + 1);
  return cls;
}

}  // namespace

const char* to_string(TypeSource s) {
  switch (s) {
    case TypeSource::make_shared: return "make_shared";
    case TypeSource::container: return "container";
    case TypeSource::allocator: return "allocator";
    case TypeSource::constructor: return "constructor";
    case TypeSource::function: return "function";
    case TypeSource::unknown: break;
  }
  return "unknown";
}

std::string simplify_type_name(std::string_view name) { return simplify(trim(name), 0); }

AllocatedType allocated_type(const std::vector<FrameRecord>& frames, int user_frame) {
  const std::size_t user = std::min<std::size_t>(static_cast<std::size_t>(std::max(user_frame, 0)), frames.size());
  // The library's frames between operator new and the user's code, innermost first.
  for (std::size_t i = 0; i < user; ++i) {
    const std::string_view t = argument_after(
        frames[i].function, {"std::make_shared<", "std::allocate_shared<", "std::__make_shared<", "std::__allocate_shared<"});
    if (!t.empty()) return {simplify_type_name(t), TypeSource::make_shared};
  }
  for (std::size_t i = user; i-- > 0;) {  // the outermost container
    const std::string_view cls = container_of(frames[i].function);
    if (!cls.empty()) return {simplify_type_name(cls), TypeSource::container};
  }
  for (std::size_t i = 0; i < user; ++i) {
    const std::string_view t = argument_after(
        frames[i].function,
        {"std::__new_allocator<", "__gnu_cxx::new_allocator<", "std::allocator<", "std::allocator_traits<std::allocator<"},
        "::allocate(");
    if (!t.empty()) return {simplify_type_name(t), TypeSource::allocator};
  }
  if (user < frames.size() && !frames[user].function.empty()) {
    const std::string_view cls = constructed_class(frames[user].function);
    if (!cls.empty()) return {simplify_type_name(cls), TypeSource::constructor};
    return {simplify_type_name(frames[user].function), TypeSource::function};
  }
  if (!frames.empty()) {
    const FrameRecord& f = frames[std::min(user, frames.size() - 1)];
    if (!f.function.empty()) return {simplify_type_name(f.function), TypeSource::function};
  }
  return {"(unknown)", TypeSource::unknown};
}

std::vector<TypeCount> census_of_sites(const std::vector<const TestRecord*>& tests) {
  struct Acc {
    TypeCount count;
    std::int64_t biggest = -1;
    std::set<const TestRecord*> tests;
  };
  std::map<AllocatedType, Acc> by_type;
  for (const TestRecord* t : tests) {
    for (const SiteRecord& s : t->sites) {
      if (framework_own(s.frames)) continue;
      const AllocatedType type = allocated_type(s.frames, s.user_frame);
      Acc& a = by_type[type];
      a.count.type = type;
      a.count.bytes += s.bytes;
      a.count.blocks += s.blocks;
      ++a.count.sites;
      a.tests.insert(t);
      if (s.bytes > a.biggest) {
        a.biggest = s.bytes;
        a.count.where = site_location(s);
      }
    }
  }
  std::vector<TypeCount> out;
  for (auto& [type, a] : by_type) {
    a.count.tests = a.tests.size();
    out.push_back(std::move(a.count));
  }
  std::stable_sort(out.begin(), out.end(), [](const TypeCount& a, const TypeCount& b) {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    return a.type < b.type;
  });
  return out;
}

}  // namespace memx
