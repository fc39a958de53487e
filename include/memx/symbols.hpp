// memx: turning the return addresses of stack mode into functions, files and lines.
//
// Offline work, never done on the allocation path: call it when a test ends or a report is
// written. Backed by elfutils' libdw (the dwfl API) on the running process's modules.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "memx/report.hpp"  // FrameRecord

namespace memx::symbols {

/// One source-level frame. A return address gives one frame per function inlined at the
/// call, innermost first; the last of them is the function the machine code belongs to.
struct Frame {
  std::uintptr_t address = 0;  ///< the return address looked up
  std::string function;        ///< demangled; empty when unknown
  std::string file;            ///< source file; empty when unknown
  int line = 0;                ///< 0 when unknown
  bool inlined = false;        ///< inlined into the next frame of the same address
  std::string module;          ///< the executable or shared library
  std::uintptr_t offset = 0;   ///< address - the module's load address
  std::string note;            ///< why something is missing ("no debug information", ...)
};

/// Symbolises addresses of the calling process; each distinct address is looked up once.
class Symbolizer {
 public:
  /// Reads the process's module list (from /proc/self/maps).
  Symbolizer();
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  /// The frames of one return address (never empty).
  const std::vector<Frame>& resolve(std::uintptr_t return_address);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The frame as a report stores it (memx/report.hpp).
FrameRecord to_record(const Frame& f);

/// "function at file:line", or "module+0xOFFSET (note)" when there is no line.
std::string describe(const Frame& f);

}  // namespace memx::symbols
