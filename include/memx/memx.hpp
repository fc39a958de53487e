// memx: every public header of the core.
#pragma once

#include "memx/config.hpp"
#include "memx/counters.hpp"
#include "memx/ignore.hpp"
#include "memx/leak_watch.hpp"
#include "memx/process.hpp"
#include "memx/request_scope.hpp"
#include "memx/rss.hpp"
#include "memx/scope.hpp"
#include "memx/thread_state.hpp"
#include "memx/tools.hpp"
#include "memx/uncounted.hpp"
#include "memx/version.hpp"
