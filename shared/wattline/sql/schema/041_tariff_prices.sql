-- Price per kWh of each tariff zone, versioned by local date: valid_from <= date < valid_to (NULL: open-ended).
CREATE TABLE IF NOT EXISTS `{{project}}.{{dataset}}.tariff_prices` (
  tariff STRING NOT NULL,
  zone STRING NOT NULL,
  valid_from DATE NOT NULL,
  valid_to DATE,
  price FLOAT64 NOT NULL,
  currency STRING NOT NULL
)
OPTIONS (description = 'Tariff prices per kWh by zone and local date range [valid_from, valid_to)');
