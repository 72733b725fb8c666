-- A brand id on the remaining rows of brand data, so that every table can be split by brand
-- (sharding by tenant): commission rule lines take their rule's brand.
ALTER TABLE commission_rule_lines ADD COLUMN brand_id VARCHAR(128) NOT NULL DEFAULT '';
UPDATE commission_rule_lines l JOIN commission_rules r ON r.id = l.rule_id SET l.brand_id = r.brand_id;
