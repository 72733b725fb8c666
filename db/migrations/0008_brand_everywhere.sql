-- A brand id on the remaining rows of brand data, so that every table can be split by brand
-- (sharding by tenant): commission rule lines, and the report's buyers and funnel rows by session.
-- Existing rows take their parent's brand.
ALTER TABLE commission_rule_lines ADD COLUMN brand_id VARCHAR(128) NOT NULL DEFAULT '';
UPDATE commission_rule_lines l JOIN commission_rules r ON r.id = l.rule_id SET l.brand_id = r.brand_id;

ALTER TABLE report_session_buyers ADD COLUMN brand_id VARCHAR(128) NOT NULL DEFAULT '';
UPDATE report_session_buyers b JOIN room_sessions s ON s.id = b.session_id SET b.brand_id = s.brand_id;

ALTER TABLE report_funnel_viewers ADD COLUMN brand_id VARCHAR(128) NOT NULL DEFAULT '';
UPDATE report_funnel_viewers f JOIN room_sessions s ON s.id = f.session_id SET f.brand_id = s.brand_id;

ALTER TABLE report_session_funnel ADD COLUMN brand_id VARCHAR(128) NOT NULL DEFAULT '';
UPDATE report_session_funnel f JOIN room_sessions s ON s.id = f.session_id SET f.brand_id = s.brand_id;
