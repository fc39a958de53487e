// The process's memory map as libdwfl should see it: only the file mappings of objects the
// dynamic loader has loaded.
#pragma once

#include <string>

namespace memx::detail {

/// /proc/self/maps without the file mappings that lie outside every object the loader
/// knows (dl_iterate_phdr), for dwfl_linux_proc_maps_report. libdw maps the files it reads
/// (the executable's sections, say) and libdwfl gives a module the span from its lowest to
/// its highest mapping: with such a copy of the executable mapped far from it, its module
/// would cover libraries dlopen'd in between, and their addresses would be looked up in the
/// executable. Anonymous and special mappings ([vdso]) are kept. "" if /proc/self/maps
/// cannot be read. Allocates: not for a path that must not.
std::string loaded_module_maps();

/// The dynamic loader's counters of libraries loaded and unloaded (glibc's dlpi_adds and
/// dlpi_subs), read from the first entry of dl_iterate_phdr. A change of subs means that
/// addresses read before may now hold another library's code.
void loader_counters(unsigned long long& adds, unsigned long long& subs) noexcept;

}  // namespace memx::detail
