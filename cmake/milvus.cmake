# Optional Milvus backend: C++ gRPC stubs for Milvus 2.3's MilvusService, generated at build
# time from the .proto files that ship inside the npm package @zilliz/milvus2-sdk-node
# (tools/milvus-proto pins the version; docs/scale.md says why), plus the client library
# src/store/milvus/. Needs Debian's protobuf-compiler-grpc, libgrpc++-dev, libprotobuf-dev.
# VF_MILVUS defaults to ON when all of them and the protos are present; without it the rest
# of Viewfinder builds as before and the Milvus tests report SKIP.
set(VF_MILVUS_PROTO_DIR
  "${CMAKE_SOURCE_DIR}/tools/milvus-proto/node_modules/@zilliz/milvus2-sdk-node/dist/proto/proto"
  CACHE PATH "Directory holding Milvus's milvus.proto, common.proto, schema.proto, ...")
set(VF_MILVUS_PROTOS common schema feder msg milvus)

find_program(VF_PROTOC protoc)
find_program(VF_GRPC_CPP_PLUGIN grpc_cpp_plugin)
pkg_check_modules(VF_GRPCPP QUIET IMPORTED_TARGET grpc++ protobuf)
set(_vf_milvus_missing "")
if(NOT VF_PROTOC OR NOT VF_GRPC_CPP_PLUGIN)
  list(APPEND _vf_milvus_missing "protoc/grpc_cpp_plugin (protobuf-compiler-grpc)")
endif()
if(NOT VF_GRPCPP_FOUND)
  list(APPEND _vf_milvus_missing "grpc++/protobuf (libgrpc++-dev libprotobuf-dev)")
endif()
if(NOT EXISTS "${VF_MILVUS_PROTO_DIR}/milvus.proto")
  list(APPEND _vf_milvus_missing
    "Milvus protos (cd tools/milvus-proto && npm ci --ignore-scripts, or scripts/install-node-tools.sh)")
endif()
if(_vf_milvus_missing)
  set(_vf_milvus_default OFF)
else()
  set(_vf_milvus_default ON)
endif()
option(VF_MILVUS "Build the Milvus backend (gRPC client)" ${_vf_milvus_default})
if(VF_MILVUS AND _vf_milvus_missing)
  message(FATAL_ERROR "VF_MILVUS=ON but missing: ${_vf_milvus_missing}")
endif()
if(NOT VF_MILVUS)
  if(_vf_milvus_missing)
    message(STATUS "Milvus backend: OFF (missing: ${_vf_milvus_missing})")
  else()
    message(STATUS "Milvus backend: OFF (VF_MILVUS=OFF)")
  endif()
else()
  message(STATUS "Milvus backend: ON (protos ${VF_MILVUS_PROTO_DIR})")
  # Stubs are generated into the build tree. Debian's own google/protobuf/descriptor.proto
  # (from libprotobuf-dev) comes first on the import path: the copy inside the npm package
  # must not shadow the one libprotobuf was built from.
  set(_gen "${CMAKE_BINARY_DIR}/milvus-proto")
  file(MAKE_DIRECTORY "${_gen}")
  set(_gen_sources "")
  foreach(name ${VF_MILVUS_PROTOS})
    set(_outs "${_gen}/${name}.pb.cc" "${_gen}/${name}.pb.h")
    if(name STREQUAL "milvus")
      list(APPEND _outs "${_gen}/${name}.grpc.pb.cc" "${_gen}/${name}.grpc.pb.h")
      set(_grpc_args --grpc_out=${_gen} --plugin=protoc-gen-grpc=${VF_GRPC_CPP_PLUGIN})
    else()
      set(_grpc_args "")
    endif()
    add_custom_command(OUTPUT ${_outs}
      COMMAND ${VF_PROTOC} -I/usr/include -I${VF_MILVUS_PROTO_DIR} --cpp_out=${_gen} ${_grpc_args}
              ${VF_MILVUS_PROTO_DIR}/${name}.proto
      DEPENDS ${VF_MILVUS_PROTO_DIR}/${name}.proto
      COMMENT "protoc ${name}.proto (Milvus 2.3 API)" VERBATIM)
    list(FILTER _outs INCLUDE REGEX "\\.cc$")
    list(APPEND _gen_sources ${_outs})
  endforeach()
  add_library(vf_milvus_proto STATIC ${_gen_sources})
  target_include_directories(vf_milvus_proto SYSTEM PUBLIC "${_gen}")
  target_link_libraries(vf_milvus_proto PUBLIC PkgConfig::VF_GRPCPP)
  target_compile_options(vf_milvus_proto PRIVATE -w)

  file(GLOB VF_MILVUS_SOURCES CONFIGURE_DEPENDS src/store/milvus/*.cpp)
  add_library(vf_milvus STATIC ${VF_MILVUS_SOURCES})
  target_include_directories(vf_milvus PUBLIC include src)
  target_compile_options(vf_milvus PRIVATE -Wall -Wextra -Wno-unused-parameter)
  target_link_libraries(vf_milvus PUBLIC vf_milvus_proto PRIVATE viewfinder_core)
  target_compile_definitions(vf_milvus PUBLIC VF_HAVE_MILVUS=1)
endif()

# Tests: the expression translator (pure), and the client against a real Milvus server that
# tests/milvus/milvus_store.sh starts with scripts/milvus.sh. Registered here rather than in
# tests/CMakeLists.txt so that a build without VF_MILVUS still lists the test and SKIPs it.
if(VF_BUILD_TESTS)
  enable_testing()
  find_package(GTest REQUIRED)
  include(GoogleTest)
  if(VF_MILVUS)
    add_executable(vf_test_milvus_expr tests/milvus/test_milvus_expr.cpp)
    target_link_libraries(vf_test_milvus_expr PRIVATE vf_milvus GTest::gtest_main)
    gtest_discover_tests(vf_test_milvus_expr PROPERTIES LABELS fast DISCOVERY_TIMEOUT 60)
    add_executable(vf_test_milvus_client tests/milvus/test_milvus_client.cpp)
    target_link_libraries(vf_test_milvus_client PRIVATE vf_milvus GTest::gtest_main)
    set(_client_bin $<TARGET_FILE:vf_test_milvus_client>)
  else()
    set(_client_bin "")
  endif()
  add_test(NAME fast.milvus_store COMMAND bash ${CMAKE_SOURCE_DIR}/tests/milvus/milvus_store.sh)
  set_tests_properties(fast.milvus_store PROPERTIES LABELS fast SKIP_RETURN_CODE 77 TIMEOUT 600
    ENVIRONMENT "VF_SOURCE_DIR=${CMAKE_SOURCE_DIR};VF_BUILD_DIR=${CMAKE_BINARY_DIR};VF_MILVUS_CLIENT_TEST=${_client_bin}")
endif()
