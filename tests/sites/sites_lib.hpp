// A shared library of the sites scenarios: an allocation whose stack crosses a library.
#pragma once

#include <cstddef>

namespace sites_lib {
/// Keeps a block of `size` bytes allocated inside this library (a leak by design).
void keep_block(std::size_t size);
}  // namespace sites_lib
