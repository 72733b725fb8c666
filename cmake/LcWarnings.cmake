# One place for compiler warnings; every project target links lc_warnings.
add_library(lc_warnings INTERFACE)
target_compile_options(lc_warnings INTERFACE -Wall -Wextra -Wno-unused-parameter)
if(LC_WERROR)
  target_compile_options(lc_warnings INTERFACE -Werror)
endif()
