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
