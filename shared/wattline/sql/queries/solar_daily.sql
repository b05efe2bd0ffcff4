-- `wattline energy` and the dashboard: the solar rows of a local date range, optionally one site (device).
SELECT *
FROM `{{project}}.{{dataset}}.solar_daily`
WHERE date BETWEEN @start_date AND @end_date
  AND (@device_id IS NULL OR device_id = @device_id)
ORDER BY device_id, date
