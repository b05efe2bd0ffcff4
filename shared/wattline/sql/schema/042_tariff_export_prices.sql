-- Price per exported kWh (feed-in or net billing) of each tariff, versioned by local date: valid_from <= date <
-- valid_to (NULL: open-ended). A tariff without export pricing has no rows (wattline.tariffs.export_price_rows).
CREATE TABLE IF NOT EXISTS `{{project}}.{{dataset}}.tariff_export_prices` (
  tariff STRING NOT NULL,
  valid_from DATE NOT NULL,
  valid_to DATE,
  price FLOAT64 NOT NULL,
  currency STRING NOT NULL
)
OPTIONS (description = 'Tariff prices per exported kWh by local date range [valid_from, valid_to)');
