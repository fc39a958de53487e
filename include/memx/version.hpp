// memx: the library's version.
#pragma once

#define MEMX_VERSION_MAJOR 0
#define MEMX_VERSION_MINOR 1
#define MEMX_VERSION_PATCH 0

namespace memx {
/// The library's version as "major.minor.patch".
inline constexpr const char* kVersion = "0.1.0";
}  // namespace memx
