-- A brand id on the report's buyers and funnel rows by session, so that every table can be split
-- by brand (sharding by tenant). (Databases migrated before migrations were owned per service
-- also copied each row's brand from its session here.)
ALTER TABLE report_session_buyers ADD COLUMN brand_id VARCHAR(128) NOT NULL DEFAULT '';
ALTER TABLE report_funnel_viewers ADD COLUMN brand_id VARCHAR(128) NOT NULL DEFAULT '';
ALTER TABLE report_session_funnel ADD COLUMN brand_id VARCHAR(128) NOT NULL DEFAULT '';
