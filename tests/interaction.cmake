# Interaction service (issue 19): pure logic (the blocked-word filter, the rules) and the service
# over gRPC against the real Redis and MariaDB.
lc_add_test(interaction_unit_test unit
  SOURCES unit/interaction/word_filter_test.cc unit/interaction/interaction_rules_test.cc
  LIBS interaction_moderation interaction_lib)
lc_add_test(interaction_integration_test integration
  SOURCES integration/interaction/interaction_service_itest.cc
  LIBS interaction_lib)
