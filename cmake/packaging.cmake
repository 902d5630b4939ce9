# Install rules and the Debian package (CPack) for mepassa-bootstrap.
# Included by the top-level CMakeLists.txt after the mepassa-bootstrap
# executable target is defined.
#
# Build a .deb:
#   cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
#         -DMP_BUILD_TESTS=OFF
#   cmake --build build --target mepassa-bootstrap
#   (cd build && cpack -G DEB)
#
# Components: `runtime` is the binary alone;
# `system` adds the systemd unit, sysusers entry and environment file.
# The .deb carries both.

include(GNUInstallDirs)

set(MP_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)

if(TARGET mepassa-bootstrap)
  install(TARGETS mepassa-bootstrap RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
else()
  message(WARNING "packaging.cmake: no mepassa-bootstrap target yet; include it after add_executable")
endif()

# systemd looks in /usr/lib/systemd/system and /usr/lib/sysusers.d; with
# CMAKE_INSTALL_PREFIX=/usr these land there.
install(FILES ${MP_PACKAGING_DIR}/systemd/mepassa-bootstrap.service
        DESTINATION lib/systemd/system COMPONENT system)
install(FILES ${MP_PACKAGING_DIR}/systemd/mepassa-bootstrap.sysusers
        DESTINATION lib/sysusers.d RENAME mepassa-bootstrap.conf COMPONENT system)
# The environment file is a conffile: dpkg keeps the operator's edits.
# CMAKE_INSTALL_FULL_SYSCONFDIR is /etc when the prefix is /usr.
install(FILES ${MP_PACKAGING_DIR}/mepassa-bootstrap.env
        DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/mepassa-bootstrap
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ
        COMPONENT system)
install(FILES ${MP_PACKAGING_DIR}/mepassa-bootstrap.env ${MP_PACKAGING_DIR}/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT system)

# --- CPack: Debian package ---------------------------------------------------
set(CPACK_PACKAGE_NAME mepassa-bootstrap)
set(CPACK_PACKAGE_VENDOR "MePassa")
set(CPACK_PACKAGE_CONTACT "MePassa maintainers <maintainers@mepassa.invalid>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "MePassa bootstrap node: libp2p Kademlia DHT bootstrap and circuit relay")
set(CPACK_PACKAGE_DESCRIPTION
    "Drop-in replacement for the Rust MePassa bootstrap node: same environment variables, /health answer and ports, plus Prometheus /metrics.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Runtime library dependencies are computed by dpkg-shlibdeps from the
# binary (libssl3, libprotobuf-lite32, libsqlite3-0, libspdlog1.10, libfmt9,
# libhttp-parser2.9, libstdc++6, libc6 on Debian 12).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(MP_DEB_CONFFILES ${CMAKE_CURRENT_BINARY_DIR}/packaging/conffiles)
file(WRITE ${MP_DEB_CONFFILES}
     "${CMAKE_INSTALL_FULL_SYSCONFDIR}/mepassa-bootstrap/mepassa-bootstrap.env\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${MP_DEB_CONFFILES}
    ${MP_PACKAGING_DIR}/debian/postinst
    ${MP_PACKAGING_DIR}/debian/prerm
    ${MP_PACKAGING_DIR}/debian/postrm)

include(CPack)
