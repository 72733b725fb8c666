# The order service's WeChat Pay building block, built on its own until the order service wires
# ORDER_PAYMENT_SOURCES (services/order/payment/payment.cmake) into order_lib.
find_package(nlohmann_json 3 REQUIRED)
find_package(Boost 1.74 REQUIRED)
include(${PROJECT_SOURCE_DIR}/services/order/payment/payment.cmake)
list(TRANSFORM ORDER_PAYMENT_SOURCES PREPEND ${PROJECT_SOURCE_DIR}/services/order/
  OUTPUT_VARIABLE order_payment_lib_sources)
add_library(order_payment_lib STATIC ${order_payment_lib_sources})
target_link_libraries(order_payment_lib
  PUBLIC services_common OpenSSL::SSL OpenSSL::Crypto nlohmann_json::nlohmann_json Boost::headers
  PRIVATE lc_warnings)

add_library(order_payment_test_keys STATIC unit/order/payment/test_keys.cc)
target_include_directories(order_payment_test_keys PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(order_payment_test_keys PUBLIC OpenSSL::Crypto PRIVATE lc_warnings)

lc_add_test(order_payment_unit_test unit
  SOURCES unit/order/payment/rsa_aead_test.cc unit/order/payment/wechat_pay_test.cc
          unit/order/payment/wechat_pay_notification_test.cc
          unit/order/payment/wechat_pay_client_test.cc
  LIBS order_payment_lib order_payment_test_keys)
# Real TLS over loopback against a Beast server the test starts itself.
lc_add_test(order_payment_integration_test integration
  SOURCES integration/order/payment/beast_transport_itest.cc
  LIBS order_payment_lib order_payment_test_keys)
