# Attribution service: domain arithmetic (unit) and the service against the real MariaDB.
lc_add_test(attribution_unit_test unit
  SOURCES unit/attribution/commission_test.cc unit/attribution/attribution_model_test.cc
          unit/attribution/questions_test.cc
  LIBS attribution_lib)
lc_add_test(attribution_integration_test integration
  SOURCES integration/attribution/attribution_service_itest.cc
          integration/attribution/ledger_simulation_itest.cc
          integration/attribution/question_alerts_itest.cc
          integration/attribution/share_code_itest.cc
  LIBS attribution_lib)
