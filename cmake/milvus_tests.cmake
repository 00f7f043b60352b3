# The Milvus tests (cmake/milvus.cmake builds the client; src/CMakeLists.txt includes it).
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
    target_include_directories(vf_test_milvus_expr PRIVATE ${CMAKE_SOURCE_DIR}/src)
    gtest_discover_tests(vf_test_milvus_expr PROPERTIES LABELS fast DISCOVERY_TIMEOUT 60)
    add_executable(vf_test_milvus_client tests/milvus/test_milvus_client.cpp)
    target_link_libraries(vf_test_milvus_client PRIVATE vf_milvus GTest::gtest_main)
    target_include_directories(vf_test_milvus_client PRIVATE ${CMAKE_SOURCE_DIR}/src)
    set(_client_bin $<TARGET_FILE:vf_test_milvus_client>)
  else()
    set(_client_bin "")
  endif()
  add_test(NAME fast.milvus_store COMMAND bash ${CMAKE_SOURCE_DIR}/tests/milvus/milvus_store.sh)
  set_tests_properties(fast.milvus_store PROPERTIES LABELS fast SKIP_RETURN_CODE 77 TIMEOUT 600
    ENVIRONMENT "VF_SOURCE_DIR=${CMAKE_SOURCE_DIR};VF_BUILD_DIR=${CMAKE_BINARY_DIR};VF_MILVUS_CLIENT_TEST=${_client_bin}")
endif()
if(VF_BUILD_TESTS)
  # A Milvus-backed library end to end (index, search vs FAISS, dupes, clusters, migrate both
  # ways, Milvus down mid-run, kill -9 of the indexer): one server start, a few minutes on two
  # cores, so slow tier.
  add_test(NAME slow.milvus_library COMMAND bash ${CMAKE_SOURCE_DIR}/tests/milvus/milvus_library.sh)
  set_tests_properties(slow.milvus_library PROPERTIES LABELS slow SKIP_RETURN_CODE 77 TIMEOUT 1200
    ENVIRONMENT "VF_SOURCE_DIR=${CMAKE_SOURCE_DIR};VF_BUILD_DIR=${CMAKE_BINARY_DIR};VF_MILVUS_CLIENT_TEST=${_client_bin};VF_BIN=$<TARGET_FILE:viewfinder>;VF_SHARED=${CMAKE_SOURCE_DIR}/../shared")
endif()
