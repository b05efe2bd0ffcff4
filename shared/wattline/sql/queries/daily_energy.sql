-- `wattline energy`: the site tariff's daily rows for a local date range, optionally one device.
SELECT *
FROM `{{project}}.{{dataset}}.daily_energy`
WHERE date BETWEEN @start_date AND @end_date
  AND (@device_id IS NULL OR device_id = @device_id)
ORDER BY device_id, channel, date
