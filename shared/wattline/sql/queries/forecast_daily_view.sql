-- wattline: backends=bigquery
-- The `forecast_daily` view: the next 14 local days of every (device_id, channel) series from the ARIMA_PLUS model
-- (forecast_arima_model.sql), with the same 80 % interval and the same column names `wattline forecast --format
-- json` uses for its forecasts. Created by infra/gcp/forecast.sh after the model; it reads the model at query time.
CREATE OR REPLACE VIEW `{{project}}.{{dataset}}.forecast_daily` AS
SELECT
  device_id,
  channel,
  DATE(forecast_timestamp) AS date,
  GREATEST(forecast_value, 0.0) AS energy_kwh,
  GREATEST(prediction_interval_lower_bound, 0.0) AS lower,
  GREATEST(prediction_interval_upper_bound, 0.0) AS upper,
  'arima_plus' AS model
FROM ML.FORECAST(
  MODEL `{{project}}.{{dataset}}.forecast_arima`,
  STRUCT(14 AS horizon, 0.8 AS confidence_level)
)
