-- Which zone each local hour of each ISO weekday belongs to, per tariff (wattline.tariffs.tariff_rows).
CREATE TABLE IF NOT EXISTS `{{project}}.{{dataset}}.tariff_zone_hours` (
  tariff STRING NOT NULL,
  zone STRING NOT NULL,
  weekday INT64 NOT NULL,
  local_hour INT64 NOT NULL
)
OPTIONS (description = 'Tariff zones by ISO weekday (1 = Monday .. 7 = Sunday) and local hour (0..23)');
