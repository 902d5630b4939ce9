# Helpers shared by every module's CMakeLists.txt.

# mp_module(NAME [PROTOS a.proto ...] [DEPS target ...])
# Builds src/NAME/*.cpp (and generated code for PROTOS) into the static
# library mp_NAME. Headers are included as "NAME/header.hpp" from src/.
function(mp_module name)
  cmake_parse_arguments(ARG "" "" "PROTOS;DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  list(FILTER srcs EXCLUDE REGEX "/main\\.cpp$")
  if(ARG_PROTOS)
    add_library(mp_${name}_proto STATIC)
    target_link_libraries(mp_${name}_proto PUBLIC protobuf::libprotobuf-lite)
    protobuf_generate(TARGET mp_${name}_proto LANGUAGE cpp
                      PROTOS ${ARG_PROTOS}
                      IMPORT_DIRS ${CMAKE_CURRENT_SOURCE_DIR}
                      PROTOC_OUT_DIR ${CMAKE_CURRENT_BINARY_DIR})
    # Generated code is not ours: include it as a system directory so its
    # warnings do not fail our build.
    target_include_directories(mp_${name}_proto SYSTEM PUBLIC ${CMAKE_CURRENT_BINARY_DIR})
    list(APPEND ARG_DEPS mp_${name}_proto)
  endif()
  if(srcs)
    add_library(mp_${name} STATIC ${srcs})
    target_include_directories(mp_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_compile_options(mp_${name} PRIVATE ${MP_WARNINGS})
    target_link_libraries(mp_${name} PUBLIC ${ARG_DEPS})
  else()
    add_library(mp_${name} INTERFACE)
    target_include_directories(mp_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(mp_${name} INTERFACE ${ARG_DEPS})
  endif()
endfunction()

# mp_unit_tests(NAME DEPS target ...)
# Builds tests/unit/NAME/*.cpp into unit_NAME and registers its tests with CTest.
function(mp_unit_tests name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  add_executable(unit_${name} ${srcs})
  target_compile_options(unit_${name} PRIVATE ${MP_WARNINGS})
  target_link_libraries(unit_${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(unit_${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 120 LABELS unit)
endfunction()
