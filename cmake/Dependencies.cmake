# Every external library is found through pkg-config and exposed as an
# imported target dep::NAME. A missing one stops configuration with the
# Debian package that provides it.
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config "
                      "(or run scripts/deps.sh)")
endif()

function(dmarcd_dependency name pcname debian_package)
  pkg_check_modules(_dep_${name} QUIET IMPORTED_TARGET GLOBAL ${pcname})
  if(NOT _dep_${name}_FOUND)
    message(FATAL_ERROR "missing dependency ${pcname}: apt-get install "
                        "${debian_package}  (or run scripts/deps.sh)")
  endif()
  add_library(dep::${name} ALIAS PkgConfig::_dep_${name})
  set(DMARCD_DEP_${name}_VERSION "${_dep_${name}_VERSION}" PARENT_SCOPE)
  message(STATUS "dependency ${pcname} ${_dep_${name}_VERSION}")
endfunction()

dmarcd_dependency(xml2      libxml-2.0     libxml2-dev)
dmarcd_dependency(zlib      zlib           zlib1g-dev)
dmarcd_dependency(archive   libarchive     libarchive-dev)
dmarcd_dependency(mariadb   libmariadb     libmariadb-dev)
dmarcd_dependency(hiredis   hiredis        libhiredis-dev)
dmarcd_dependency(gpgme     gpgme          libgpgme-dev)
dmarcd_dependency(mhd       libmicrohttpd  libmicrohttpd-dev)
dmarcd_dependency(cmocka    cmocka         libcmocka-dev)
dmarcd_dependency(jansson   jansson        libjansson-dev)
dmarcd_dependency(gmime     gmime-3.0      libgmime-3.0-dev)
dmarcd_dependency(sodium    libsodium      libsodium-dev)
dmarcd_dependency(curl      libcurl        libcurl4-openssl-dev)
dmarcd_dependency(gnutls    gnutls         libgnutls28-dev)
