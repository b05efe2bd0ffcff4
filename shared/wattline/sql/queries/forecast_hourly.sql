-- `wattline forecast`: energy per device, channel, local date and local hour (the fall-back night's two 03:00
-- hours summed), optionally one device; the input of wattline.forecast.HourlyHistory.
SELECT
  device_id,
  channel,
  local_date,
  local_hour,
  SUM(energy_wh) / 1000.0 AS energy_kwh
FROM `{{project}}.{{dataset}}.energy_hourly_local`
WHERE (@device_id IS NULL OR device_id = @device_id)
GROUP BY device_id, channel, local_date, local_hour
ORDER BY device_id, channel, local_date, local_hour
