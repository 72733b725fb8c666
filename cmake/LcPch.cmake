# Precompiled headers, GCC only: the system headers nearly every file includes (gRPC, protobuf,
# absl, spdlog, the standard library) and every generated proto header are parsed once, into the
# PCH of the target lc_pch, and every C++ target of the tree reuses it. Parsing those headers is
# more than half of compiling a typical file here; a clean build on 2 cores takes about half as
# long. Clang builds (the fuzz and ThreadSanitizer trees) do without: clang refuses a PCH built
# with other macro definitions, which the targets have.
option(LC_PCH "Reuse one precompiled header across the tree (GCC)" ON)

# lc_enable_pch(): call once every target is defined (after the last add_subdirectory).
function(lc_enable_pch)
  if(NOT LC_PCH OR NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    return()
  endif()
  set(headers <algorithm> <atomic> <chrono> <cstdint> <functional> <map> <memory> <mutex>
    <optional> <set> <string> <string_view> <thread> <unordered_map> <utility> <vector>
    <grpcpp/grpcpp.h> <google/protobuf/message.h> <google/protobuf/util/json_util.h>
    <google/protobuf/util/time_util.h> <absl/status/status.h> <absl/status/statusor.h>
    <absl/strings/str_cat.h> <absl/strings/str_split.h> <absl/strings/string_view.h>
    <absl/strings/numbers.h> <absl/strings/match.h> <absl/time/time.h>
    <absl/synchronization/mutex.h> <spdlog/spdlog.h>)
  file(GLOB protos RELATIVE ${PROJECT_SOURCE_DIR}/protos ${PROJECT_SOURCE_DIR}/protos/livecommerce/v1/*.proto
    ${PROJECT_SOURCE_DIR}/protos/livecommerce/events/v1/*.proto)
  foreach(proto ${protos})
    string(REGEX REPLACE "\\.proto$" ".grpc.pb.h" header ${proto})
    list(APPEND headers "<${header}>")
  endforeach()
  file(WRITE ${PROJECT_BINARY_DIR}/lc_pch.cc "// The translation unit that builds the shared precompiled header (cmake/LcPch.cmake).\n")
  add_library(lc_pch STATIC ${PROJECT_BINARY_DIR}/lc_pch.cc)
  # Compiled as a file of services_common's users is (their macros must match the PCH's: hiredis'
  # _FILE_OFFSET_BITS changes the system headers), without depending on it.
  get_target_property(common_libs services_common INTERFACE_LINK_LIBRARIES)
  get_target_property(common_includes services_common INTERFACE_INCLUDE_DIRECTORIES)
  target_link_libraries(lc_pch PRIVATE lc_protos ${common_libs})
  target_include_directories(lc_pch PRIVATE ${common_includes})
  target_precompile_headers(lc_pch PRIVATE ${headers})

  lc_pch_targets(${PROJECT_SOURCE_DIR} targets)
  foreach(target ${targets})
    get_target_property(type ${target} TYPE)
    if(target STREQUAL "lc_pch" OR target STREQUAL "lc_protos")
      continue()
    endif()
    if(NOT (type STREQUAL "EXECUTABLE" OR type STREQUAL "STATIC_LIBRARY" OR
            type STREQUAL "SHARED_LIBRARY" OR type STREQUAL "OBJECT_LIBRARY"))
      continue()
    endif()
    # Only services_common's users are compiled with the macros the PCH was made with.
    lc_pch_uses_common(${target} uses)
    if(uses)
      target_precompile_headers(${target} REUSE_FROM lc_pch)
    endif()
  endforeach()
endfunction()

# The targets defined in `dir` and below it.
function(lc_pch_targets dir out)
  get_property(found DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub ${subdirs})
    lc_pch_targets(${sub} below)
    list(APPEND found ${below})
  endforeach()
  set(${out} ${found} PARENT_SCOPE)
endfunction()

# Whether `target` links services_common, directly or through the project's own libraries.
function(lc_pch_uses_common target out)
  set(${out} FALSE PARENT_SCOPE)
  if(target STREQUAL "services_common")
    set(${out} TRUE PARENT_SCOPE)
    return()
  endif()
  get_target_property(imported ${target} IMPORTED)
  if(imported)
    return()
  endif()
  get_target_property(libs ${target} LINK_LIBRARIES)
  get_target_property(interface_libs ${target} INTERFACE_LINK_LIBRARIES)
  foreach(lib IN LISTS libs interface_libs)
    if(TARGET "${lib}")
      lc_pch_uses_common(${lib} uses)
      if(uses)
        set(${out} TRUE PARENT_SCOPE)
        return()
      endif()
    endif()
  endforeach()
endfunction()
