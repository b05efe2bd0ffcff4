-- Data quality per device, channel and local day: how much of the day the readings cover, the gaps, the hours
-- with no row at all, the energy that had to be estimated (counter proves it, no power sample places it) and
-- counter resets (reboots, power loss). A day of DST has 23 or 25 hours.
CREATE OR REPLACE VIEW `{{project}}.{{dataset}}.data_quality` AS
WITH days AS (
  SELECT
    device_id,
    channel,
    local_date,
    COUNT(*) AS hours_with_data,
    SUM(covered_s) AS covered_s,
    SUM(gap_s) AS gap_s,
    SUM(samples) AS samples,
    SUM(counter_resets) AS counter_resets,
    SUM(import_wh) AS measured_wh,
    SUM(estimated_wh) AS estimated_wh,
    STRING_AGG(DISTINCT method, '+' ORDER BY method) AS method,
    MIN(hour_start) AS first_hour_start,
    MAX(hour_start) AS last_hour_start
  FROM `{{project}}.{{dataset}}.energy_hourly_local`
  GROUP BY device_id, channel, local_date
),
sized AS (
  SELECT
    *,
    TIMESTAMP_DIFF(
      TIMESTAMP(DATE_ADD(local_date, INTERVAL 1 DAY), '{{timezone}}'), TIMESTAMP(local_date, '{{timezone}}'), SECOND
    ) AS day_seconds
  FROM days
)
SELECT
  device_id,
  channel,
  local_date AS date,
  '{{timezone}}' AS timezone,
  DIV(day_seconds, 3600) AS day_hours,
  hours_with_data,
  DIV(day_seconds, 3600) - hours_with_data AS hours_missing,
  ROUND(covered_s, 3) AS covered_seconds,
  ROUND(gap_s, 3) AS gap_seconds,
  ROUND(covered_s / day_seconds, 6) AS coverage,
  samples,
  counter_resets,
  ROUND(estimated_wh / 1000, 6) AS estimated_kwh,
  ROUND(SAFE_DIVIDE(estimated_wh, measured_wh + estimated_wh), 6) AS estimated_share,
  method,
  first_hour_start,
  last_hour_start
FROM sized;
