set(CATALOG_FLASH_SOURCES
  api/flash_sale_admission.cc
  api/flash_sale_reservations.cc
  api/flash_sale_service.cc
  domain/flash_sale.cc
  store/mysql_flash_sale_store.cc
  store/redis_flash_stock_store.cc)
