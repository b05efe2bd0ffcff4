-- energy_hourly rows with start_ts <= hour_start < end_ts: what `wattline rebuild` compares with the rows it
-- recomputes from the daily files (loaded_at and source_generation are provenance, read but not compared).
SELECT
  device_id,
  channel,
  hour_start,
  import_wh,
  export_wh,
  estimated_wh,
  covered_s,
  gap_s,
  samples,
  min_power_w,
  max_power_w,
  mean_power_w,
  counter_resets,
  method,
  source_generation
FROM `{{project}}.{{dataset}}.energy_hourly`
WHERE hour_start >= @start_ts AND hour_start < @end_ts
ORDER BY device_id, channel, hour_start
