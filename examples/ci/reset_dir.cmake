# Empties (or creates) the directory DIR: cmake -DDIR=<dir> -P reset_dir.cmake
file(REMOVE_RECURSE "${DIR}")
file(MAKE_DIRECTORY "${DIR}")
