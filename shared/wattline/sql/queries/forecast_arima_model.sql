-- wattline: backends=bigquery
-- BigQuery ML: one ARIMA_PLUS time series per (device_id, channel) over complete local days (docs/forecast.md,
-- "BigQuery ML"). Run by infra/gcp/forecast.sh (never by `wattline gcp init`: queries/ holds no objects); re-run it
-- to retrain on newer days. Training window: the last 400 local days before today in the site zone, days with at
-- least 23 local hours of data only (the spring-forward day has 23), the same rule as wattline.forecast.
CREATE OR REPLACE MODEL `{{project}}.{{dataset}}.forecast_arima`
OPTIONS (
  model_type = 'ARIMA_PLUS',
  time_series_timestamp_col = 'date',
  time_series_data_col = 'energy_kwh',
  time_series_id_col = ['device_id', 'channel'],
  data_frequency = 'DAILY',
  horizon = 60,
  auto_arima = TRUE,
  clean_spikes_and_dips = TRUE,
  adjust_step_changes = TRUE
) AS
SELECT
  device_id,
  channel,
  local_date AS date,
  SUM(energy_wh) / 1000.0 AS energy_kwh
FROM `{{project}}.{{dataset}}.energy_hourly_local`
WHERE hour_start >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 401 DAY)
  AND local_date >= DATE_SUB(CURRENT_DATE('{{timezone}}'), INTERVAL 400 DAY)
  AND local_date < CURRENT_DATE('{{timezone}}')
GROUP BY device_id, channel, local_date
HAVING COUNT(DISTINCT local_hour) >= 23
