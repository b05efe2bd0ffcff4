-- The average day: energy and power by ISO weekday (1 = Monday .. 7 = Sunday) and local hour (0..23), over
-- every hour in energy_hourly. Filter hour_start in a custom query (or in Looker Studio) for a season.
CREATE OR REPLACE VIEW `{{project}}.{{dataset}}.hourly_profile` AS
SELECT
  device_id,
  channel,
  weekday,
  CASE weekday
    WHEN 1 THEN 'Mon' WHEN 2 THEN 'Tue' WHEN 3 THEN 'Wed' WHEN 4 THEN 'Thu'
    WHEN 5 THEN 'Fri' WHEN 6 THEN 'Sat' ELSE 'Sun'
  END AS weekday_name,
  local_hour,
  COUNT(*) AS hours,
  ROUND(AVG(energy_wh) / 1000, 6) AS avg_energy_kwh,
  ROUND(AVG(export_wh) / 1000, 6) AS avg_export_kwh,
  ROUND(AVG(mean_power_w), 3) AS avg_power_w,
  MAX(max_power_w) AS max_power_w,
  MIN(min_power_w) AS min_power_w,
  ROUND(AVG(SAFE_DIVIDE(covered_s, covered_s + gap_s)), 6) AS avg_coverage
FROM `{{project}}.{{dataset}}.energy_hourly_local`
GROUP BY device_id, channel, weekday, local_hour;
