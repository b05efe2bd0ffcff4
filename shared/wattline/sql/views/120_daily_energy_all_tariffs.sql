-- daily_energy for every tariff in the tariff tables (column `tariff`), plus the raw seconds behind coverage.
-- Same rules as wattline.daily.daily_energy (`wattline analyze`), so both agree exactly:
--   energy = measured + estimated = sum of zones; zone energy = import_wh + estimated_wh of the hours whose local
--   hour and weekday fall in the zone; cost = sum of zone kWh x the zone's price on that local date (NULL when a
--   zone has no price that day); coverage = covered seconds / seconds of the local day (82800, 86400 or 90000);
--   method = the day's distinct methods, sorted, joined by '+'; kWh rounded to 6 decimals, cost to 4, once.
CREATE OR REPLACE VIEW `{{project}}.{{dataset}}.daily_energy_all_tariffs` AS
WITH days AS (
  SELECT
    device_id,
    channel,
    local_date,
    SUM(import_wh) AS measured_wh,
    SUM(estimated_wh) AS estimated_wh,
    SUM(export_wh) AS export_wh,
    SUM(gap_s) AS gap_s,
    SUM(covered_s) AS covered_s,
    SUM(samples) AS samples,
    STRING_AGG(DISTINCT method, '+' ORDER BY method) AS method,
    SUM(counter_resets) AS counter_resets
  FROM `{{project}}.{{dataset}}.energy_hourly_local`
  GROUP BY device_id, channel, local_date
),
zoned AS (
  SELECT
    device_id,
    channel,
    date,
    tariff,
    ARRAY_AGG(STRUCT(zone AS zone, ROUND(energy_wh / 1000, 6) AS kwh) ORDER BY zone) AS zones,
    IF(COUNTIF(price IS NULL) > 0, NULL, ROUND(SUM(cost_raw), 4)) AS cost,
    MAX(currency) AS currency
  FROM `{{project}}.{{dataset}}.daily_zone_energy_all_tariffs`
  GROUP BY device_id, channel, date, tariff
)
SELECT
  z.tariff,
  d.device_id,
  d.channel,
  d.local_date AS date,
  '{{timezone}}' AS timezone,
  ROUND((d.measured_wh + d.estimated_wh) / 1000, 6) AS energy_kwh,
  ROUND(d.measured_wh / 1000, 6) AS measured_kwh,
  ROUND(d.estimated_wh / 1000, 6) AS estimated_kwh,
  ROUND(d.export_wh / 1000, 6) AS export_kwh,
  z.zones,
  z.cost,
  z.currency,
  ROUND(d.gap_s, 3) AS gap_seconds,
  ROUND(
    d.covered_s / TIMESTAMP_DIFF(
      TIMESTAMP(DATE_ADD(d.local_date, INTERVAL 1 DAY), '{{timezone}}'), TIMESTAMP(d.local_date, '{{timezone}}'), SECOND
    ),
    6
  ) AS coverage,
  d.samples,
  d.method,
  d.counter_resets,
  d.covered_s AS covered_seconds,
  TIMESTAMP_DIFF(
    TIMESTAMP(DATE_ADD(d.local_date, INTERVAL 1 DAY), '{{timezone}}'), TIMESTAMP(d.local_date, '{{timezone}}'), SECOND
  ) AS day_seconds
FROM days AS d
JOIN zoned AS z
  ON z.device_id = d.device_id AND z.channel = d.channel AND z.date = d.local_date;
