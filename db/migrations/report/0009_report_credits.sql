-- Sales by associate follow the attribution service's decision (attributed_orders), not the
-- associate a buyer carried into checkout: a paid order is "credited" to the associate the
-- attribution service credited (source 4 of report_applied), and its refunds are taken from the
-- same associate. dim_key keeps that associate for the order's refunds.
ALTER TABLE report_applied
  MODIFY source TINYINT NOT NULL COMMENT '1 conversions, 2 refunds, 3 orders, 4 credits',
  ADD COLUMN dim_key VARCHAR(128) NOT NULL DEFAULT '' COMMENT 'credits: the associate credited';
