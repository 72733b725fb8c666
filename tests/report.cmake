lc_add_test(report_unit_test unit
  SOURCES unit/report/report_domain_test.cc
  LIBS report_lib)
lc_add_test(report_integration_test integration
  SOURCES integration/report/report_itest.cc
  LIBS report_lib)
