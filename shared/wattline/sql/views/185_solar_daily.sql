-- Solar balance per site and local date: exactly the fields of wattline.solar.SolarDay, i.e. the solar section
-- of `wattline analyze` and `wattline energy`. The day's values are the sums of its hours (solar_hourly);
-- self_sufficiency = self-consumption / consumption (NULL when nothing was consumed); export_value = export kWh as
-- rounded x the site tariff's ({{tariff}}) export price on that date, NULL without export or without a price.
-- kWh and the ratio are rounded to 6 decimals, the value to 4, once.
CREATE OR REPLACE VIEW `{{project}}.{{dataset}}.solar_daily` AS
WITH days AS (
  SELECT
    device_id,
    local_date,
    SUM(generation_wh) AS generation_wh,
    SUM(grid_import_wh) AS grid_import_wh,
    ROUND(SUM(export_wh) / 1000, 6) AS export_kwh,
    SUM(consumption_wh) AS consumption_wh,
    SUM(self_consumption_wh) AS self_consumption_wh
  FROM `{{project}}.{{dataset}}.solar_hourly`
  GROUP BY device_id, local_date
),
currency AS (
  SELECT MAX(currency) AS currency
  FROM `{{project}}.{{dataset}}.tariff_prices`
  WHERE tariff = '{{tariff}}'
)
SELECT
  d.device_id,
  d.local_date AS date,
  '{{timezone}}' AS timezone,
  ROUND(d.generation_wh / 1000, 6) AS generation_kwh,
  ROUND(d.grid_import_wh / 1000, 6) AS grid_import_kwh,
  d.export_kwh,
  ROUND(d.consumption_wh / 1000, 6) AS consumption_kwh,
  ROUND(d.self_consumption_wh / 1000, 6) AS self_consumption_kwh,
  IF(d.consumption_wh > 0, ROUND(d.self_consumption_wh / d.consumption_wh, 6), NULL) AS self_sufficiency,
  IF(d.export_kwh > 0, ROUND(d.export_kwh * p.price, 4), NULL) AS export_value,
  c.currency
FROM days AS d
CROSS JOIN currency AS c
LEFT JOIN `{{project}}.{{dataset}}.tariff_export_prices` AS p
  ON p.tariff = '{{tariff}}' AND p.valid_from <= d.local_date AND (p.valid_to IS NULL OR d.local_date < p.valid_to);
