# The project's warning set, applied through the interface target
# dmarcd_warnings that every project target links. Flags the compiler does
# not know are dropped, so gcc and clang both build cleanly.
include(CheckCCompilerFlag)

set(_dmarcd_warning_candidates
  -Wall -Wextra -Wshadow -Wformat=2 -Wformat-truncation=2 -Wformat-overflow=2
  -Wvla -Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition
  -Wpointer-arith -Wcast-qual -Wcast-align -Wwrite-strings -Wundef
  -Wmissing-declarations -Wredundant-decls -Wnested-externs -Wswitch
  -Wimplicit-fallthrough -Wdouble-promotion -Wunused -Wuninitialized
  -Winit-self -Walloca -Wduplicated-cond -Wlogical-op -Wno-missing-field-initializers)

add_library(dmarcd_warnings INTERFACE)
foreach(flag IN LISTS _dmarcd_warning_candidates)
  string(MAKE_C_IDENTIFIER "HAVE_WARN${flag}" var)
  check_c_compiler_flag("${flag}" ${var})
  if(${var})
    target_compile_options(dmarcd_warnings INTERFACE ${flag})
  endif()
endforeach()
target_compile_options(dmarcd_warnings INTERFACE -fno-common)
target_compile_definitions(dmarcd_warnings INTERFACE _GNU_SOURCE)
if(DMARCD_WERROR)
  target_compile_options(dmarcd_warnings INTERFACE -Werror)
endif()
