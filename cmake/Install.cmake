# What `cmake --install` puts in the prefix and `make package` (CPack) puts in
# the .deb: bin/marsc and bin/marsc-train, the libraries and public headers
# (mars_export_library, top-level CMakeLists.txt) and the CMake package
# lib/cmake/marsc, so that an outside project's find_package(marsc) gets
# marsc::ir, marsc::onnx, marsc::passes, marsc::runtime, marsc::train, ...
include(CMakePackageConfigHelpers)

# marsc execs marsc-train from its own directory (TrainLauncher.cpp), so both
# go to the same bin/.
install(TARGETS marsc RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        COMPONENT Runtime)
if(TARGET marsc-train)
  install(TARGETS marsc-train RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
          COMPONENT Runtime)
endif()

install(EXPORT marscTargets NAMESPACE marsc::
        DESTINATION ${MARS_INSTALL_CMAKEDIR} COMPONENT Development)
if(TARGET mars_train)
  install(EXPORT marscTrainTargets NAMESPACE marsc::
          DESTINATION ${MARS_INSTALL_CMAKEDIR} COMPONENT Development)
endif()

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/marscConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/marscConfig.cmake
  INSTALL_DESTINATION ${MARS_INSTALL_CMAKEDIR})
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/marscConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/marscConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/marscConfigVersion.cmake
        DESTINATION ${MARS_INSTALL_CMAKEDIR} COMPONENT Development)

# `make package`: one Debian package with everything above, installed under
# /usr. Its Depends come from dpkg-shlibdeps on marsc and marsc-train (the
# shared libraries they load: protobuf, ONNX, LibTorch, zlib, ...), so
# `apt-get install ./marsc_*.deb` pulls them. The static libraries are for
# find_package(marsc); building against them also needs the -dev packages
# listed as Suggests (cmake/README.md).
set(CPACK_PACKAGE_NAME marsc)
set(CPACK_PACKAGE_VENDOR "marsc")
set(CPACK_PACKAGE_CONTACT "marsc maintainers <marsc@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "ONNX CNN compiler and simulator for SRAM computing-in-memory accelerators")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
    "marsc trains and compresses a CNN (QAT, CIM-group sparsity), compiles it "
    "into a program for a MARS-style SRAM computing-in-memory accelerator and "
    "runs it on a bit-exact, timed simulator. Includes the marsc libraries, "
    "headers and CMake package (find_package(marsc)).")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "cmake, g++, libprotobuf-dev, libonnx-dev, nlohmann-json3-dev, zlib1g-dev, libtorch-dev")
set(CPACK_STRIP_FILES ON)
include(CPack)
