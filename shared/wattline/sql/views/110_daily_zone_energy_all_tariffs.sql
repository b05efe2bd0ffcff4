-- One row per device, channel, local date, tariff and zone: the zone's energy that day and its cost.
-- Every zone of every tariff is listed (0 when no hour of the day fell in it), priced with the price valid on
-- that local date. Long form: the easiest shape for Looker Studio breakdowns by zone.
-- energy_wh and cost_raw are unrounded (daily_energy sums them); energy_kwh and cost are rounded for display.
CREATE OR REPLACE VIEW `{{project}}.{{dataset}}.daily_zone_energy_all_tariffs` AS
WITH days AS (
  SELECT DISTINCT device_id, channel, local_date
  FROM `{{project}}.{{dataset}}.energy_hourly_local`
),
zones AS (
  SELECT DISTINCT tariff, zone
  FROM `{{project}}.{{dataset}}.tariff_zone_hours`
),
zone_wh AS (
  SELECT h.device_id, h.channel, h.local_date, z.tariff, z.zone, SUM(h.energy_wh) AS energy_wh
  FROM `{{project}}.{{dataset}}.energy_hourly_local` AS h
  JOIN `{{project}}.{{dataset}}.tariff_zone_hours` AS z
    ON z.weekday = h.weekday AND z.local_hour = h.local_hour
  GROUP BY h.device_id, h.channel, h.local_date, z.tariff, z.zone
),
priced AS (
  SELECT
    d.device_id,
    d.channel,
    d.local_date,
    z.tariff,
    z.zone,
    COALESCE(w.energy_wh, 0.0) AS energy_wh,
    p.price,
    p.currency
  FROM days AS d
  CROSS JOIN zones AS z
  LEFT JOIN zone_wh AS w
    ON w.device_id = d.device_id AND w.channel = d.channel AND w.local_date = d.local_date
    AND w.tariff = z.tariff AND w.zone = z.zone
  LEFT JOIN `{{project}}.{{dataset}}.tariff_prices` AS p
    ON p.tariff = z.tariff AND p.zone = z.zone
    AND p.valid_from <= d.local_date AND (p.valid_to IS NULL OR d.local_date < p.valid_to)
)
SELECT
  device_id,
  channel,
  local_date AS date,
  tariff,
  zone,
  energy_wh,
  ROUND(energy_wh / 1000, 6) AS energy_kwh,
  price,
  currency,
  energy_wh / 1000 * price AS cost_raw,
  ROUND(energy_wh / 1000 * price, 4) AS cost
FROM priced;
