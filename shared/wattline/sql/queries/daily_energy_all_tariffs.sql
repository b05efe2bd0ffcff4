-- `wattline energy --tariff NAME` for a tariff other than the site's: the same rows priced with NAME.
SELECT *
FROM `{{project}}.{{dataset}}.daily_energy_all_tariffs`
WHERE tariff = @tariff
  AND date BETWEEN @start_date AND @end_date
  AND (@device_id IS NULL OR device_id = @device_id)
ORDER BY device_id, channel, date
