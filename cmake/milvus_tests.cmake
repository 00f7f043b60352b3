# The Milvus tests and the Milvus scale bench (cmake/milvus.cmake builds the client; src/CMakeLists.txt includes it).
# Tests: the expression translator (pure), and the client against a real Milvus server that
# tests/milvus/milvus_store.sh starts with scripts/milvus.sh. Registered here rather than in
# tests/CMakeLists.txt so that a build without VF_MILVUS still lists the test and SKIPs it.
if(VF_BUILD_TESTS)
  enable_testing()
  find_package(GTest REQUIRED)
  include(GoogleTest)
  if(VF_MILVUS)
    add_executable(vf_test_milvus_expr tests/milvus/test_milvus_expr.cpp)
    target_link_libraries(vf_test_milvus_expr PRIVATE vf_milvus vf_search GTest::gtest_main)
    target_include_directories(vf_test_milvus_expr PRIVATE ${CMAKE_SOURCE_DIR}/src)
    gtest_discover_tests(vf_test_milvus_expr PROPERTIES LABELS fast DISCOVERY_TIMEOUT 60)
    add_executable(vf_test_milvus_client tests/milvus/test_milvus_client.cpp)
    target_link_libraries(vf_test_milvus_client PRIVATE vf_milvus GTest::gtest_main)
    target_include_directories(vf_test_milvus_client PRIVATE ${CMAKE_SOURCE_DIR}/src)
    set(_client_bin $<TARGET_FILE:vf_test_milvus_client>)
    # Filtered searches on Milvus vs the FAISS path (catalog SQL + FAISS), one per filter kind.
    add_executable(vf_test_milvus_filters tests/milvus/test_milvus_filters.cpp)
    target_link_libraries(vf_test_milvus_filters PRIVATE vf_store vf_catalog vf_search GTest::gtest_main)
    target_include_directories(vf_test_milvus_filters PRIVATE ${CMAKE_SOURCE_DIR}/src)
    set(_filters_bin $<TARGET_FILE:vf_test_milvus_filters>)
    # The index chosen on the store URL: its parsing (MilvusIndexUrl.*, discovered here) and
    # every index type on the real server (MilvusIndexes.*, run by milvus_store.sh).
    add_executable(vf_test_milvus_index tests/milvus/test_milvus_index.cpp)
    target_link_libraries(vf_test_milvus_index PRIVATE vf_store vf_milvus GTest::gtest_main)
    target_include_directories(vf_test_milvus_index PRIVATE ${CMAKE_SOURCE_DIR}/src)
    gtest_discover_tests(vf_test_milvus_index TEST_FILTER "MilvusIndexUrl.*" PROPERTIES LABELS fast DISCOVERY_TIMEOUT 60)
    set(_index_bin $<TARGET_FILE:vf_test_milvus_index>)
  else()
    set(_client_bin "")
    set(_filters_bin "")
    set(_index_bin "")
  endif()
  add_test(NAME fast.milvus_store COMMAND bash ${CMAKE_SOURCE_DIR}/tests/milvus/milvus_store.sh)
  set_tests_properties(fast.milvus_store PROPERTIES LABELS fast SKIP_RETURN_CODE 77 TIMEOUT 600
    ENVIRONMENT "VF_SOURCE_DIR=${CMAKE_SOURCE_DIR};VF_BUILD_DIR=${CMAKE_BINARY_DIR};VF_MILVUS_CLIENT_TEST=${_client_bin};VF_MILVUS_FILTERS_TEST=${_filters_bin};VF_MILVUS_INDEX_TEST=${_index_bin}")
endif()
if(VF_BUILD_TESTS)
  # A Milvus-backed library end to end (index, search vs FAISS, dupes, clusters, migrate both
  # ways, Milvus down mid-run, kill -9 of the indexer): one server start, a few minutes on two
  # cores, so slow tier.
  add_test(NAME slow.milvus_library COMMAND bash ${CMAKE_SOURCE_DIR}/tests/milvus/milvus_library.sh)
  set_tests_properties(slow.milvus_library PROPERTIES LABELS slow SKIP_RETURN_CODE 77 TIMEOUT 1200
    ENVIRONMENT "VF_SOURCE_DIR=${CMAKE_SOURCE_DIR};VF_BUILD_DIR=${CMAKE_BINARY_DIR};VF_MILVUS_CLIENT_TEST=${_client_bin};VF_BIN=$<TARGET_FILE:viewfinder>;VF_SHARED=${CMAKE_SOURCE_DIR}/../shared")
endif()
if(VF_MILVUS)
  # The Milvus column of bench/run scale (bench/scale_milvus.sh): the project's own client on
  # the same synthetic vectors as scale_bench (bench/scale_data.h).
  add_executable(scale_milvus_bench bench/milvus/scale_milvus_bench.cpp)
  target_link_libraries(scale_milvus_bench PRIVATE vf_milvus vf_common nlohmann_json::nlohmann_json OpenMP::OpenMP_CXX)
  target_include_directories(scale_milvus_bench PRIVATE ${CMAKE_SOURCE_DIR}/src)
endif()
if(VF_BUILD_TESTS)
  # Three shard workers and one worker alone into one real Milvus; readers of both
  # collections (viewfinder mirror, serve --reader) answer /api/search alike; files under
  # --root only; HDF5 export/import on Milvus libraries (tests/milvus/milvus_reader.py).
  add_test(NAME fast.milvus_reader COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/milvus/milvus_reader.py)
  set_tests_properties(fast.milvus_reader PROPERTIES LABELS fast SKIP_RETURN_CODE 77 TIMEOUT 900
    ENVIRONMENT "VF_SOURCE_DIR=${CMAKE_SOURCE_DIR};VF_BUILD_DIR=${CMAKE_BINARY_DIR};VF_MILVUS_CLIENT_TEST=${_client_bin};VF_BIN=$<TARGET_FILE:viewfinder>;VF_SHARED=${CMAKE_SOURCE_DIR}/../shared")
endif()
