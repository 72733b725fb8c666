lc_add_test(flash_unit_test unit
  SOURCES unit/catalog/flash_sale_domain_test.cc
  LIBS catalog_lib)
lc_add_test(flash_integration_test integration
  SOURCES integration/catalog/flash_stock_store_itest.cc
          integration/catalog/flash_sale_service_itest.cc
  LIBS catalog_lib room_lib)
