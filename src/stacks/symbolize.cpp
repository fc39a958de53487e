// Symbolisation with elfutils' libdw (memx/symbols.hpp). Never on the allocation path.
#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <iterator>
#include <map>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "memx/symbols.hpp"
#include "loaded_maps.hpp"
#include "inflated_debuginfo.hpp"

namespace memx::symbols {
namespace {

std::string demangle(const char* name) {
  if (name == nullptr) return {};
  int status = 0;
  char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (d == nullptr) return name;
  std::string s(d);
  std::free(d);
  return s;
}

/// The name of a subprogram or inlined-subroutine DIE (following abstract origins).
std::string die_name(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  const char* name = nullptr;
  if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) != nullptr ||
      dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr) != nullptr) {
    name = dwarf_formstring(&attr);
  }
  if (name == nullptr) name = dwarf_diename(die);
  if (name == nullptr) {
    Dwarf_Die origin;
    if (dwarf_attr_integrate(die, DW_AT_abstract_origin, &attr) != nullptr &&
        dwarf_formref_die(&attr, &origin) != nullptr) {
      name = dwarf_diename(&origin);
    }
  }
  return demangle(name);
}

bool is_function(int tag) { return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine; }

/// DIEs whose children may be functions with code: the unit, namespaces, classes (member
/// functions defined in the class), lexical blocks and functions themselves (inlined calls).
bool may_hold_functions(int tag) {
  return is_function(tag) || tag == DW_TAG_compile_unit || tag == DW_TAG_partial_unit ||
         tag == DW_TAG_namespace || tag == DW_TAG_lexical_block || tag == DW_TAG_class_type ||
         tag == DW_TAG_structure_type || tag == DW_TAG_union_type;
}

/// The functions of one compilation unit as a tree of address ranges: a node's children are
/// the functions (concrete subprograms, inlined calls) whose code lies inside it, each
/// range sorted by address. Built once per unit; dwarf_getscopes walks the whole unit for
/// every address, which in a unit of a few hundred thousand DIEs (a test file that includes
/// GoogleMock) is milliseconds per address.
struct ScopeTree {
  struct Range {
    Dwarf_Addr lo;
    Dwarf_Addr hi;
    Dwarf_Off die;
    std::uint32_t node;
  };
  std::vector<std::vector<Range>> kids{1};  // node 0: the unit

  void build(Dwarf_Die* parent, std::uint32_t node, int depth) {
    Dwarf_Die child;
    if (depth > 64 || dwarf_child(parent, &child) != 0) return;
    do {
      const int tag = dwarf_tag(&child);
      if (is_function(tag)) {
        std::uint32_t m = 0;
        Dwarf_Addr base = 0, start = 0, end = 0;
        for (ptrdiff_t off = 0; (off = dwarf_ranges(&child, off, &base, &start, &end)) > 0;) {
          if (m == 0) {
            m = static_cast<std::uint32_t>(kids.size());
            kids.emplace_back();
          }
          if (start < end) kids[node].push_back(Range{start, end, dwarf_dieoffset(&child), m});
        }
        if (m != 0) build(&child, m, depth + 1);  // no code (a declaration, an abstract
                                                  // instance): nothing to find inside
      } else if (may_hold_functions(tag)) {
        build(&child, node, depth + 1);
      }
    } while (dwarf_siblingof(&child, &child) == 0);
  }

  void sort() {
    for (std::vector<Range>& k : kids) {
      std::sort(k.begin(), k.end(), [](const Range& a, const Range& b) { return a.lo < b.lo; });
    }
  }

  /// The DIE offsets of the functions containing pc, outermost first.
  std::vector<Dwarf_Off> path(Dwarf_Addr pc) const {
    std::vector<Dwarf_Off> out;
    std::uint32_t node = 0;
    for (int guard = 0; guard < 256; ++guard) {
      const std::vector<Range>& k = kids[node];
      auto it = std::upper_bound(k.begin(), k.end(), pc,
                                 [](Dwarf_Addr a, const Range& r) { return a < r.lo; });
      const Range* found = nullptr;
      // Ranges of siblings do not overlap; a few steps back covers any that do.
      for (int back = 0; back < 4 && it != k.begin(); ++back) {
        --it;
        if (it->lo <= pc && pc < it->hi) {
          found = &*it;
          break;
        }
      }
      if (found == nullptr) break;
      out.push_back(found->die);
      node = found->node;
    }
    return out;
  }
};

}  // namespace

namespace {

/// Reports the process's modules to dwfl, only those the loader knows (loaded_maps.hpp).
/// Returns 0 on success, as dwfl_linux_proc_report.
int report_loaded_modules(Dwfl* dwfl) {
  std::string maps = detail::loaded_module_maps();
  if (maps.empty()) return -1;
  FILE* f = fmemopen(maps.data(), maps.size(), "r");
  if (f == nullptr) return -1;
  const int result = dwfl_linux_proc_maps_report(dwfl, f);
  std::fclose(f);
  return result;
}

/// True when the ELF file open as fd carries the build ID bits (len bytes).
bool has_build_id(int fd, const unsigned char* bits, int len) {
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  if (elf == nullptr) return false;
  const void* id = nullptr;
  const ssize_t n = dwelf_elf_gnu_build_id(elf, &id);
  const bool same = n == len && std::memcmp(id, bits, static_cast<std::size_t>(len)) == 0;
  elf_end(elf);
  return same;
}

/// For a module's own debug file (not the .gnu_debugaltlink file a debug file names), the
/// places libdwfl's standard search looks with the default path, in its order: by build ID
/// under /usr/lib/debug/.build-id, then the .gnu_debuglink name beside the file, in .debug/
/// beside it and under /usr/lib/debug. The first with the module's build ID that has
/// zlib-compressed sections (Debian's -dbg packages) is read through a decompressed copy
/// (inflated_debuginfo.hpp): the contents libdw would have decompressed itself with zlib,
/// three times slower. The search is done here because dwfl_standard_find_debuginfo keeps
/// the file it opened by build ID for libdw, whatever descriptor the callback returns.
/// Anything else (no build ID, nothing compressed): the standard search; nothing anywhere it
/// would look: -1 at once (below).
int find_debuginfo(Dwfl_Module* mod, void** userdata, const char* modname, GElf_Addr base,
                   const char* file_name, const char* debuglink_file, GElf_Word debuglink_crc,
                   char** debuginfo_file_name) {
  const unsigned char* bits = nullptr;
  GElf_Addr vaddr = 0;
  const int len = dwfl_module_build_id(mod, &bits, &vaddr);
  GElf_Addr bias = 0;
  Elf* main_elf = dwfl_module_getelf(mod, &bias);
  GElf_Word crc = 0;
  const char* own_link = main_elf != nullptr ? dwelf_elf_gnu_debuglink(main_elf, &crc) : nullptr;
  const bool own = (own_link == nullptr && debuglink_file == nullptr) ||
                   (own_link != nullptr && debuglink_file != nullptr &&
                    std::strcmp(own_link, debuglink_file) == 0);
  if (!own || len <= 0 || file_name == nullptr || file_name[0] != '/') {
    return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
                                        debuglink_crc, debuginfo_file_name);
  }
  std::string hex;
  for (int i = 0; i < len; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", bits[i]);
    hex += b;
    if (i == 0) hex += '/';
  }
  const std::string file(file_name);
  const std::string dir = file.substr(0, file.rfind('/'));
  const std::string link =
      debuglink_file != nullptr ? debuglink_file : file.substr(file.rfind('/') + 1) + ".debug";
  std::vector<std::string> candidates{"/usr/lib/debug/.build-id/" + hex + ".debug"};
  if (link.find('/') == std::string::npos) {
    candidates.push_back(dir + "/" + link);
    candidates.push_back(dir + "/.debug/" + link);
    candidates.push_back("/usr/lib/debug" + dir + "/" + link);
  }
  if (detail::inflater_available()) {
    for (const std::string& path : candidates) {
      const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      if (path == file || !has_build_id(fd, bits, len)) {
        close(fd);
        continue;
      }
      const int copy = detail::inflated_copy(fd);
      close(fd);
      if (copy < 0) break;  // the debug file, nothing compressed: the standard search finds it
      *debuginfo_file_name = strdup(path.c_str());
      return copy;
    }
  }
  // No file anywhere the standard search looks (these places and /usr/lib/debug under every
  // tail of the directory: a superset) and no debuginfod server named (DEBUGINFOD_URLS): it
  // would find nothing either, after loading libdebuginfod, and with it libcurl and a score
  // of TLS libraries, into the test process (5-10 ms here) to ask no server.
  const char* urls = std::getenv("DEBUGINFOD_URLS");
  if (urls != nullptr && *urls != '\0') {
    return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
                                        debuglink_crc, debuginfo_file_name);
  }
  if (link.find('/') == std::string::npos) {
    for (std::size_t at = 0; at != std::string::npos; at = dir.find('/', at + 1)) {
      candidates.push_back("/usr/lib/debug" + dir.substr(at) + "/" + link);
    }
    candidates.push_back("/usr/lib/debug/" + link);
  }
  for (const std::string& path : candidates) {
    if (access(path.c_str(), F_OK) == 0 && path != file) {
      return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name,
                                          debuglink_file, debuglink_crc, debuginfo_file_name);
    }
  }
  errno = ENOENT;
  return -1;
}

}  // namespace

struct Symbolizer::Impl {
  Dwfl* dwfl = nullptr;
  char* debuginfo_path = nullptr;
  Dwfl_Callbacks callbacks{};
  std::unordered_map<std::uintptr_t, std::vector<Frame>> cache;
  std::map<std::pair<const void*, Dwarf_Off>, ScopeTree> trees;  // per (module's Dwarf, unit)

  /// A module's function symbols sorted by address, read once. dwfl_module_addrinfo scans
  /// the whole symbol table for every address: in a test binary with GoogleMock (tens of
  /// thousands of symbols) that was most of a stack-mode run's time.
  struct SymbolTable {
    struct Entry {
      GElf_Addr lo;
      GElf_Addr hi;
      const char* name;  // owned by the module's ELF, alive as long as the Dwfl
      int rank;          // 0 global, 1 weak, 2 local: at one address the lowest is named
    };
    std::vector<Entry> by_address;
  };
  std::unordered_map<const Dwfl_Module*, SymbolTable> symbol_tables;
  unsigned long long loader_subs = 0;  // the loader's unload counter when modules were read

  /// Reads the module list again when a library was unloaded since it was read: another one
  /// may now be loaded at its addresses, and libdwfl would still give them to the old module
  /// (seen: a library that libdw itself loaded and unloaded, whose place a later dlopen took).
  void follow_unloads() {
    unsigned long long adds = 0, subs = 0;
    detail::loader_counters(adds, subs);
    if (subs == loader_subs || dwfl == nullptr) return;
    loader_subs = subs;
    (void)report_again();
  }

  /// Reports the process's modules to dwfl again; true if they could be read. Modules
  /// reported again at the same place are kept, with what was read of them. The caches keyed
  /// by modules' Dwarf and Dwfl_Module addresses are dropped: a module unloaded meanwhile may
  /// have left its addresses to another.
  bool report_again() {
    dwfl_report_begin(dwfl);
    const bool ok = report_loaded_modules(dwfl) == 0;
    dwfl_report_end(dwfl, nullptr, nullptr);
    trees.clear();
    symbol_tables.clear();
    return ok;
  }

  const SymbolTable& symbols_of(Dwfl_Module* mod) {
    auto it = symbol_tables.find(mod);
    if (it != symbol_tables.end()) return it->second;
    SymbolTable t;
    const int n = dwfl_module_getsymtab(mod);
    for (int i = 1; i < n; ++i) {
      GElf_Sym sym;
      GElf_Addr addr = 0;
      GElf_Word shndx = 0;
      const char* name = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, nullptr, nullptr);
      if (name == nullptr || *name == '\0' || sym.st_size == 0 || shndx == SHN_UNDEF) continue;
      if (GELF_ST_TYPE(sym.st_info) != STT_FUNC && GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC) continue;
      const int bind = GELF_ST_BIND(sym.st_info);
      t.by_address.push_back({addr, addr + sym.st_size, name, bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2});
    }
    // By address; at one address (aliases) the global name first, as addrinfo prefers it.
    std::stable_sort(t.by_address.begin(), t.by_address.end(),
                     [](const SymbolTable::Entry& a, const SymbolTable::Entry& b) {
                       return a.lo != b.lo ? a.lo < b.lo : a.rank < b.rank;
                     });
    return symbol_tables.emplace(mod, std::move(t)).first->second;
  }

  /// The name of the function symbol containing pc: the one starting nearest below it among
  /// those whose range holds it. nullptr when none does (addrinfo then decides).
  const char* function_symbol(Dwfl_Module* mod, Dwarf_Addr pc) {
    const std::vector<SymbolTable::Entry>& v = symbols_of(mod).by_address;
    auto it = std::upper_bound(v.begin(), v.end(), pc,
                               [](Dwarf_Addr a, const SymbolTable::Entry& e) { return a < e.lo; });
    // A few steps back: a symbol nested in a larger one's range (rare) is found too.
    for (int steps = 0; it != v.begin() && steps < 16; ++steps) {
      --it;
      if (pc < it->hi) {
        // The first of the names at this address (aliases sort global first).
        while (it != v.begin() && std::prev(it)->lo == it->lo && pc < std::prev(it)->hi) --it;
        return it->name;
      }
    }
    return nullptr;
  }

  /// The function DIEs containing pc (relative to the unit's addresses), innermost first.
  std::vector<Dwarf_Die> function_chain(Dwfl_Module* mod, Dwarf_Die* cu, Dwarf_Addr pc) {
    std::vector<Dwarf_Die> chain;
    Dwarf_Addr bias = 0;
    Dwarf* dbg = dwfl_module_getdwarf(mod, &bias);
    if (dbg == nullptr) return chain;
    const auto key = std::make_pair(static_cast<const void*>(dbg), dwarf_dieoffset(cu));
    auto it = trees.find(key);
    if (it == trees.end()) {
      ScopeTree t;
      t.build(cu, 0, 0);
      t.sort();
      it = trees.emplace(key, std::move(t)).first;
    }
    const std::vector<Dwarf_Off> path = it->second.path(pc);
    for (auto p = path.rbegin(); p != path.rend(); ++p) {
      Dwarf_Die die;
      if (dwarf_offdie(dbg, *p, &die) == nullptr) return {};
      chain.push_back(die);
    }
    return chain;
  }

  Impl() {
    callbacks.find_elf = dwfl_linux_proc_find_elf;
    callbacks.find_debuginfo = find_debuginfo;
    callbacks.debuginfo_path = &debuginfo_path;
    dwfl = dwfl_begin(&callbacks);
    unsigned long long adds = 0;
    detail::loader_counters(adds, loader_subs);
    if (dwfl != nullptr) {
      dwfl_report_begin(dwfl);
      if (report_loaded_modules(dwfl) != 0 ||
          dwfl_report_end(dwfl, nullptr, nullptr) != 0) {
        dwfl_end(dwfl);
        dwfl = nullptr;
      }
    }
  }
  ~Impl() {
    if (dwfl != nullptr) dwfl_end(dwfl);
  }

  /// The module whose span holds pc, or nullptr. dwfl_addrmodule alone is not enough: after
  /// modules were reported again it was seen to answer with a module whose span does not
  /// hold the address (libpsl's, for a library dlopen'd since), presumably from a stale
  /// segment table; the span is checked here.
  Dwfl_Module* covering_module(Dwarf_Addr pc) {
    Dwfl_Module* mod = dwfl_addrmodule(dwfl, pc);
    if (mod == nullptr) return nullptr;
    Dwarf_Addr lo = 0, hi = 0;
    if (dwfl_module_info(mod, nullptr, &lo, &hi, nullptr, nullptr, nullptr, nullptr) == nullptr ||
        pc < lo || pc >= hi) {
      return nullptr;
    }
    return mod;
  }

  std::vector<Frame> lookup(std::uintptr_t ret) {
    std::vector<Frame> out;
    Frame base;
    base.address = ret;
    // A return address points after the call: look up the call instruction's last byte.
    const Dwarf_Addr pc = ret == 0 ? 0 : ret - 1;
    Dwfl_Module* mod = dwfl != nullptr ? covering_module(pc) : nullptr;
    if (mod == nullptr && dwfl != nullptr) {
      // A library loaded since the module list was read (dlopen): read it again.
      if (report_again()) mod = covering_module(pc);
    }
    if (mod == nullptr) {
      base.note = dwfl == nullptr ? "the process's modules could not be read" : "no module";
      out.push_back(base);
      return out;
    }
    Dwarf_Addr start = 0;
    const char* mname =
        dwfl_module_info(mod, nullptr, &start, nullptr, nullptr, nullptr, nullptr, nullptr);
    base.module = mname != nullptr ? mname : "";
    base.offset = ret - start;
    // The symbol table (present unless stripped) names the outermost function.
    GElf_Sym sym;
    GElf_Off sym_off = 0;
    const char* symname = function_symbol(mod, pc);
    if (symname == nullptr) symname = dwfl_module_addrinfo(mod, pc, &sym_off, &sym, nullptr, nullptr, nullptr);
    const std::string outer_name = demangle(symname);
    // Line of the innermost inlined frame from the line table. A pc past the end of a line
    // sequence (code of a unit without debug information) has no line.
    Dwfl_Line* line = dwfl_module_getsrc(mod, pc);
    Dwarf_Addr bias = 0;
    Dwarf_Die* cu = dwfl_module_addrdie(mod, pc, &bias);
    if (line != nullptr) {
      Dwarf_Addr line_bias = 0;
      Dwarf_Line* dl = dwfl_dwarf_line(line, &line_bias);
      bool end_sequence = false;
      if (dl == nullptr || dwarf_lineendsequence(dl, &end_sequence) != 0 || end_sequence) {
        line = nullptr;
      }
    }
    if (line != nullptr && cu != nullptr && dwarf_haspc(cu, pc - bias) != 1) line = nullptr;
    if (line == nullptr || cu == nullptr) {
      base.function = outer_name;
      base.note = symname == nullptr ? "no symbols or debug information" : "no debug information";
      out.push_back(base);
      return out;
    }
    int lineno = 0;
    const char* file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr);
    std::string cur_file = file != nullptr ? file : "";
    int cur_line = lineno;
    // The functions containing pc, innermost first: inlined calls, then the subprogram they
    // were inlined into, each inlined call's site being its caller's position
    // (eu-addr2line -i). From the unit's tree of function ranges; dwarf_getscopes where the
    // tree finds nothing (a partial unit imported from elsewhere).
    std::vector<Dwarf_Die> tree_chain = function_chain(mod, cu, pc - bias);
    Dwarf_Die* scopes = nullptr;
    Dwarf_Die* chain = nullptr;
    int m = 0;
    if (!tree_chain.empty()) {
      chain = tree_chain.data();
      m = static_cast<int>(tree_chain.size());
    } else {
      const int n = dwarf_getscopes(cu, pc - bias, &scopes);
      int inner = -1;
      for (int i = 0; i < n && inner < 0; ++i) {
        const int tag = dwarf_tag(&scopes[i]);
        if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram) inner = i;
      }
      m = inner >= 0 ? dwarf_getscopes_die(&scopes[inner], &chain) : 0;
    }
    Dwarf_Files* files = nullptr;
    size_t nfiles = 0;
    dwarf_getsrcfiles(cu, &files, &nfiles);
    for (int i = 0; i < m; ++i) {
      const int tag = dwarf_tag(&chain[i]);
      if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram) continue;
      Frame f = base;
      f.function = die_name(&chain[i]);
      if (f.function.empty() && tag == DW_TAG_subprogram) f.function = outer_name;
      f.file = cur_file;
      f.line = cur_line;
      f.inlined = tag == DW_TAG_inlined_subroutine;
      out.push_back(f);
      if (tag == DW_TAG_subprogram) break;
      Dwarf_Attribute attr;
      Dwarf_Word v = 0;
      cur_line = dwarf_formudata(dwarf_attr(&chain[i], DW_AT_call_line, &attr), &v) == 0
                     ? static_cast<int>(v)
                     : 0;
      cur_file.clear();
      if (files != nullptr &&
          dwarf_formudata(dwarf_attr(&chain[i], DW_AT_call_file, &attr), &v) == 0 && v < nfiles) {
        const char* cf = dwarf_filesrc(files, v, nullptr, nullptr);
        if (cf != nullptr) cur_file = cf;
      }
    }
    if (tree_chain.empty()) std::free(chain);
    std::free(scopes);
    if (out.empty()) {
      base.function = outer_name;
      base.file = cur_file;
      base.line = cur_line;
      out.push_back(base);
    }
    return out;
  }
};

Symbolizer::Symbolizer() : impl_(std::make_unique<Impl>()) {}
Symbolizer::~Symbolizer() = default;

const std::vector<Frame>& Symbolizer::resolve(std::uintptr_t return_address) {
  auto it = impl_->cache.find(return_address);
  if (it == impl_->cache.end()) {
    // Addresses already resolved keep their answer (references to them stay valid).
    impl_->follow_unloads();
    it = impl_->cache.emplace(return_address, impl_->lookup(return_address)).first;
  }
  return it->second;
}

FrameRecord to_record(const Frame& f) {
  FrameRecord r;
  r.function = f.function;
  r.file = f.file;
  r.line = f.line;
  r.module = f.module;
  r.offset = f.offset;
  r.inlined = f.inlined;
  r.note = f.note;
  return r;
}

std::string describe(const Frame& f) {
  char buf[64];
  if (f.line > 0 && !f.file.empty()) {
    std::snprintf(buf, sizeof buf, ":%d", f.line);
    return (f.function.empty() ? std::string("??") : f.function) + " at " + f.file + buf;
  }
  std::snprintf(buf, sizeof buf, "+0x%llx", static_cast<unsigned long long>(f.offset));
  std::string s = (f.module.empty() ? std::string("??") : f.module) + buf;
  if (!f.function.empty()) s += " in " + f.function;
  if (!f.note.empty()) s += " (" + f.note + ")";
  return s;
}

}  // namespace memx::symbols
