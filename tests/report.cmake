lc_add_test(report_unit_test unit
  SOURCES unit/report/report_domain_test.cc
  LIBS report_lib)
lc_add_test(report_integration_test integration
  SOURCES integration/report/report_itest.cc
  LIBS report_lib)
# Reports read from a replica: the test needs a primary and a replica of its own, which the e2e
# script starts, so it is registered through the script only.
add_executable(report_replica_itest integration/report/report_replica_itest.cc)
target_link_libraries(report_replica_itest PRIVATE report_lib lc_test_support GTest::gtest_main
  lc_warnings)
add_test(NAME e2e.report_replica
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/e2e/report_replica_test.sh ${PROJECT_BINARY_DIR})
set_tests_properties(e2e.report_replica PROPERTIES LABELS e2e TIMEOUT 180)
