# WeChat Pay API v3 building block of the order service (paths relative to services/order).
# Needs OpenSSL::SSL and OpenSSL::Crypto, nlohmann_json::nlohmann_json and Boost headers (Beast).
set(ORDER_PAYMENT_SOURCES
  payment/beast_transport.cc
  payment/payment_gateway.cc
  payment/payment_notifications.cc
  payment/rsa_aead.cc
  payment/wechat_pay.cc
  payment/wechat_pay_client.cc)
