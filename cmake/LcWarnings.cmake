# One place for compiler warnings; every project target links lc_warnings.
add_library(lc_warnings INTERFACE)
target_compile_options(lc_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter)
if(LC_WERROR)
  target_compile_options(lc_warnings INTERFACE -Werror)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 reports -Warray-bounds on std::string's small-buffer copy when a local string is
    # returned into an absl::StatusOr (a known false positive of its inliner, which the shared
    # precompiled header's order of declarations brings out): reported, not fatal.
    target_compile_options(lc_warnings INTERFACE -Wno-error=array-bounds)
  endif()
endif()
