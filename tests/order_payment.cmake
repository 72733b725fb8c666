# Tests of the order service's WeChat Pay building block (services/order/payment).
add_library(order_payment_test_keys STATIC unit/order/payment/test_keys.cc)
target_include_directories(order_payment_test_keys PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(order_payment_test_keys PUBLIC OpenSSL::Crypto PRIVATE lc_warnings)

lc_add_test(order_payment_unit_test unit
  SOURCES unit/order/payment/rsa_aead_test.cc unit/order/payment/wechat_pay_test.cc
          unit/order/payment/wechat_pay_notification_test.cc
          unit/order/payment/wechat_pay_client_test.cc
  LIBS order_lib order_payment_test_keys)
# Real TLS over loopback against a Beast server the test starts itself.
lc_add_test(order_payment_integration_test integration
  SOURCES integration/order/payment/beast_transport_itest.cc
  LIBS order_lib order_payment_test_keys)
