-- Solar balance per site (a device named in channel_roles) and local hour, in Wh (wattline.solar.solar_hours):
-- generation = solar channels' export direction (solar+: import direction); grid import (measured + estimated) and
-- export = grid channels' (a channel without a role is grid); load channels stay out of the balance.
-- self_consumption = max(0, generation - export); consumption = grid import + self_consumption.
CREATE OR REPLACE VIEW `{{project}}.{{dataset}}.solar_hourly` AS
WITH sites AS (
  SELECT DISTINCT device_id
  FROM `{{project}}.{{dataset}}.channel_roles`
),
channels AS (
  SELECT
    h.device_id,
    h.hour_start,
    h.local_date,
    COALESCE(r.role, 'grid') AS role,
    h.import_wh + h.estimated_wh AS import_wh,
    h.export_wh
  FROM `{{project}}.{{dataset}}.energy_hourly_local` AS h
  JOIN sites AS s ON s.device_id = h.device_id
  LEFT JOIN `{{project}}.{{dataset}}.channel_roles` AS r
    ON r.device_id = h.device_id AND r.channel = h.channel
),
balance AS (
  SELECT
    device_id,
    hour_start,
    local_date,
    SUM(CASE role WHEN 'solar' THEN export_wh WHEN 'solar+' THEN import_wh ELSE 0.0 END) AS generation_wh,
    SUM(IF(role = 'grid', import_wh, 0.0)) AS grid_import_wh,
    SUM(IF(role = 'grid', export_wh, 0.0)) AS export_wh
  FROM channels
  GROUP BY device_id, hour_start, local_date
)
SELECT
  device_id,
  hour_start,
  local_date,
  generation_wh,
  grid_import_wh,
  export_wh,
  GREATEST(generation_wh - export_wh, 0.0) AS self_consumption_wh,
  grid_import_wh + GREATEST(generation_wh - export_wh, 0.0) AS consumption_wh
FROM balance;
