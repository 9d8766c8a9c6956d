# ASan+UBSan build (DMARCD_SANITIZE) and libFuzzer build (DMARCD_FUZZ).
# Both apply to every target so that libraries and tests are instrumented alike.
if(DMARCD_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()

if(DMARCD_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "DMARCD_FUZZ needs clang: configure with CC=clang "
                        "(Debian packages: clang libclang-rt-14-dev)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
