# Catalog products, SKUs, regular inventory and room product lists.
lc_add_test(catalog_products_unit_test unit
  SOURCES unit/catalog/product_domain_test.cc
  LIBS catalog_lib)
lc_add_test(catalog_products_integration_test integration
  SOURCES integration/catalog/catalog_service_itest.cc integration/catalog/inventory_store_itest.cc
          integration/catalog/caching_product_store_itest.cc
  LIBS catalog_lib room_lib)
