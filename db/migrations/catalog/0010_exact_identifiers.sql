-- Identifiers compare byte for byte. The tables were created with the server's default collation
-- (utf8mb4_unicode_ci on the project's own servers): it folds letter case and ignores trailing
-- spaces, so brand `ACME-X` matched brand `acme-x` and openids differing only in case (WeChat
-- openids are case-sensitive) matched each other. Every text column now uses a binary NO PAD
-- collation (utf8mb4_nopad_bin: neither case nor trailing spaces are ignored). CONVERT keeps the
-- data (every existing value is valid UTF-8, ASCII columns included); binary columns (BINARY,
-- VARBINARY, BLOB) are untouched. New tables must say COLLATE utf8mb4_nopad_bin: a test checks
-- every text column of the schema (MigrationsItest.EveryTextColumnComparesByteForByte).
ALTER TABLE products CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE skus CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE room_products CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE room_product_prices CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE sku_reservations CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE flash_sales CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE flash_holds CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE flash_reservations CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
