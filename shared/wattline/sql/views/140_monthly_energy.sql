-- Energy and cost per device, channel and local calendar month, site tariff ({{tariff}}).
-- Sums of the rounded daily_energy values (what a reader adding up the daily rows gets); coverage is covered
-- seconds over every second of the month, so days without any data lower it.
CREATE OR REPLACE VIEW `{{project}}.{{dataset}}.monthly_energy` AS
WITH zone_month AS (
  SELECT
    device_id,
    channel,
    CAST(DATE_TRUNC(date, MONTH) AS DATE) AS month,
    zone,
    ROUND(SUM(energy_kwh), 6) AS kwh
  FROM `{{project}}.{{dataset}}.daily_zone_energy_all_tariffs`
  WHERE tariff = '{{tariff}}'
  GROUP BY device_id, channel, month, zone
),
zones AS (
  SELECT device_id, channel, month, ARRAY_AGG(STRUCT(zone AS zone, kwh AS kwh) ORDER BY zone) AS zones
  FROM zone_month
  GROUP BY device_id, channel, month
),
months AS (
  SELECT
    device_id,
    channel,
    CAST(DATE_TRUNC(date, MONTH) AS DATE) AS month,
    COUNT(*) AS days_with_data,
    ROUND(SUM(energy_kwh), 6) AS energy_kwh,
    ROUND(SUM(measured_kwh), 6) AS measured_kwh,
    ROUND(SUM(estimated_kwh), 6) AS estimated_kwh,
    ROUND(SUM(export_kwh), 6) AS export_kwh,
    IF(COUNTIF(cost IS NULL) > 0, NULL, ROUND(SUM(cost), 4)) AS cost,
    MAX(currency) AS currency,
    ROUND(SUM(gap_seconds), 3) AS gap_seconds,
    SUM(covered_seconds) AS covered_seconds,
    SUM(samples) AS samples,
    SUM(counter_resets) AS counter_resets
  FROM `{{project}}.{{dataset}}.daily_energy_all_tariffs`
  WHERE tariff = '{{tariff}}'
  GROUP BY device_id, channel, month
)
SELECT
  m.device_id,
  m.channel,
  m.month,
  FORMAT_DATE('%Y-%m', m.month) AS month_label,
  '{{timezone}}' AS timezone,
  m.days_with_data,
  m.energy_kwh,
  m.measured_kwh,
  m.estimated_kwh,
  m.export_kwh,
  z.zones,
  m.cost,
  m.currency,
  m.gap_seconds,
  ROUND(
    m.covered_seconds / TIMESTAMP_DIFF(
      TIMESTAMP(DATE_ADD(m.month, INTERVAL 1 MONTH), '{{timezone}}'), TIMESTAMP(m.month, '{{timezone}}'), SECOND
    ),
    6
  ) AS coverage,
  m.samples,
  m.counter_resets
FROM months AS m
JOIN zones AS z
  ON z.device_id = m.device_id AND z.channel = m.channel AND z.month = m.month;
