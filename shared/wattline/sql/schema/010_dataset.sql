-- wattline: backends=bigquery
-- The dataset that holds every wattline object. Idempotent: an existing dataset is left as it is.
CREATE SCHEMA IF NOT EXISTS `{{project}}.{{dataset}}`
OPTIONS (
  location = '{{location}}',
  description = 'wattline: Shelly energy telemetry (readings, hourly energy, tariffs, analysis views)'
);
