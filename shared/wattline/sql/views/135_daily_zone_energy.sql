-- The site tariff's ({{tariff}}) energy and cost per device, channel, local date and zone, one row each:
-- the shape Looker Studio charts best (a zone dimension instead of daily_energy's zones array).
CREATE OR REPLACE VIEW `{{project}}.{{dataset}}.daily_zone_energy` AS
SELECT
  device_id,
  channel,
  date,
  zone,
  energy_kwh,
  price,
  currency,
  cost
FROM `{{project}}.{{dataset}}.daily_zone_energy_all_tariffs`
WHERE tariff = '{{tariff}}';
