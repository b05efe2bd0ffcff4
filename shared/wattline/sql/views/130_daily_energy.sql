-- Energy per device, channel and local day, priced with the site tariff ({{tariff}}, filled in at init):
-- exactly the fields of wattline.models.DailyEnergy, i.e. the objects `wattline analyze` prints.
-- zones is ARRAY<STRUCT<zone STRING, kwh FLOAT64>>; the adapters turn it into {zone: kWh}.
CREATE OR REPLACE VIEW `{{project}}.{{dataset}}.daily_energy` AS
SELECT
  device_id,
  channel,
  date,
  timezone,
  energy_kwh,
  measured_kwh,
  estimated_kwh,
  export_kwh,
  zones,
  cost,
  currency,
  gap_seconds,
  coverage,
  samples,
  method,
  counter_resets
FROM `{{project}}.{{dataset}}.daily_energy_all_tariffs`
WHERE tariff = '{{tariff}}';
