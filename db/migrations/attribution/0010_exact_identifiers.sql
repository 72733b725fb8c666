-- Identifiers compare byte for byte. The tables were created with the server's default collation
-- (utf8mb4_unicode_ci on the project's own servers): it folds letter case and ignores trailing
-- spaces, so brand `ACME-X` matched brand `acme-x` and openids differing only in case (WeChat
-- openids are case-sensitive) matched each other. Every text column now uses a binary NO PAD
-- collation (utf8mb4_nopad_bin: neither case nor trailing spaces are ignored). CONVERT keeps the
-- data (every existing value is valid UTF-8, ASCII columns included); binary columns (BINARY,
-- VARBINARY, BLOB) are untouched. New tables must say COLLATE utf8mb4_nopad_bin: a test checks
-- every text column of the schema (MigrationsItest.EveryTextColumnComparesByteForByte).
ALTER TABLE attribution_stores CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE associates CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE share_links CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE touches CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE client_bindings CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE client_binding_locks CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE commission_rules CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE commission_rule_lines CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE attributed_orders CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE attributed_refunds CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE commission_entries CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE commission_daily_totals CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE settlement_clock CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE settlement_runs CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE associate_alerts CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE unpaid_order_watch CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE client_presence CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
