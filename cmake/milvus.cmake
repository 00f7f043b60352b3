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

  # The client is a sub-library of src/store: its sources include "store/milvus/x.h" through
  # the store folder's private include dir (no `src` on any path); it links only what it uses
  # (vf_catalog for normalize_format, so that Milvus and SQL normalise formats alike).
  # vf_store links it privately (src/CMakeLists.txt) and defines VF_HAVE_MILVUS for itself.
  file(GLOB VF_MILVUS_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/store/milvus/*.cpp)
  add_library(vf_milvus STATIC ${VF_MILVUS_SOURCES})
  target_include_directories(vf_milvus PRIVATE ${CMAKE_BINARY_DIR}/vf_include/private/store
                                       PUBLIC ${CMAKE_SOURCE_DIR}/include)
  target_compile_options(vf_milvus PRIVATE -Wall -Wextra -Wno-unused-parameter)
  target_link_libraries(vf_milvus PUBLIC vf_milvus_proto PRIVATE vf_catalog vf_common nlohmann_json::nlohmann_json)
endif()
