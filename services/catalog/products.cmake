set(CATALOG_PRODUCT_SOURCES api/catalog_service.cc domain/product.cc store/mysql_product_store.cc store/mysql_inventory_store.cc
  store/caching_product_store.cc)
