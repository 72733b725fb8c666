-- Share links' mini-program codes (GetShareLinkCode): made once per link, by WeChat
-- (wxacode.getUnlimited) or drawn locally as a QR code of the same scene, and kept.
CREATE TABLE share_link_codes (
  share_link_id     BIGINT UNSIGNED NOT NULL,
  brand_id          VARCHAR(128)    NOT NULL,
  scene             VARCHAR(32)     NOT NULL,
  page              VARCHAR(128)    NOT NULL,
  image             MEDIUMBLOB      NOT NULL,
  content_type      VARCHAR(32)     NOT NULL,
  source            VARCHAR(16)     NOT NULL COMMENT 'wechat or local',
  created_at        DATETIME(6)     NOT NULL,
  PRIMARY KEY (share_link_id),
  CONSTRAINT fk_share_link_codes_link FOREIGN KEY (share_link_id) REFERENCES share_links (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
