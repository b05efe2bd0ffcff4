-- Tariff what-if per device, channel, local date and tariff: the same hourly energy priced under every tariff in
-- the tariff tables, with the saving against the site tariff ({{tariff}}, filled in at init):
-- saving = site tariff's cost that day - this tariff's cost (NULL when the currencies differ or a cost is NULL).
-- The daily rows of `wattline whatif` (wattline.whatif.compare_days): summing them over a period per device,
-- channel and tariff gives its period rows. A load shift is a CLI scenario, not part of this view.
CREATE OR REPLACE VIEW `{{project}}.{{dataset}}.tariff_comparison` AS
SELECT
  t.device_id,
  t.channel,
  t.date,
  t.tariff,
  t.energy_kwh,
  t.zones,
  t.cost,
  t.currency,
  c.tariff AS current_tariff,
  c.cost AS current_cost,
  IF(c.currency = t.currency, ROUND(c.cost - t.cost, 4), NULL) AS saving
FROM `{{project}}.{{dataset}}.daily_energy_all_tariffs` AS t
LEFT JOIN `{{project}}.{{dataset}}.daily_energy_all_tariffs` AS c
  ON c.device_id = t.device_id AND c.channel = t.channel AND c.date = t.date AND c.tariff = '{{tariff}}';
