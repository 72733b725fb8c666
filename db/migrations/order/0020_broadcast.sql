-- Which broadcast of its session an order was placed from (livecommerce.v1.Broadcast): the live
-- (1) or the replay (2); 0 for an order outside a session (and for orders placed before this).
ALTER TABLE orders ADD COLUMN broadcast TINYINT NOT NULL DEFAULT 0 AFTER session_id;
