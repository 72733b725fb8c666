lc_add_test(order_unit_test unit
  SOURCES unit/order/order_domain_test.cc
  LIBS order_lib)
lc_add_test(order_integration_test integration
  SOURCES integration/order/order_service_itest.cc
  LIBS order_lib catalog_lib room_lib attribution_lib report_lib order_payment_test_keys)
# Every gRPC method, as every caller the route table does not allow: the services' own refusals.
lc_add_test(grpc_authz_matrix_test integration
  SOURCES integration/order/grpc_authz_matrix_itest.cc integration/order/grpc_references_itest.cc
  LIBS order_lib catalog_lib room_lib attribution_lib report_lib order_payment_test_keys gateway_lib)
# Cancelled and expired WeChat Pay orders are closed there before their stock goes back; payments
# that still arrive are recorded and refunded once (a local HTTPS server answers as WeChat Pay).
lc_add_test(order_payment_close_test integration
  SOURCES integration/order/payment_close_itest.cc
  LIBS order_lib catalog_lib room_lib attribution_lib report_lib order_payment_test_keys)
