-- wattline: backends=bigquery
-- Table snapshots of the tables no file can rebuild in full: energy_hourly (rebuildable from the daily files with
-- `wattline rebuild`, the snapshot makes a restore minutes instead of a recompute) and alerts (the dedup memory of
-- `detect`; not rebuildable). Run daily as a BigQuery scheduled query created by infra/gcp/snapshots.sh, which
-- fills {{project}}/{{dataset}} and the retention below. Snapshots go to `<dataset>_snapshots`, named
-- `<table>_YYYYMMDD`, and expire after retention_days; IF NOT EXISTS makes a second run on one day a no-op.
-- Restore: docs/recovery.md (`CREATE TABLE … CLONE <snapshot>`).
DECLARE retention_days INT64 DEFAULT 35;  -- snapshots.sh: SNAPSHOT_RETENTION_DAYS
DECLARE suffix STRING DEFAULT FORMAT_DATE('%Y%m%d', CURRENT_DATE());
FOR item IN (SELECT name FROM UNNEST(['energy_hourly', 'alerts']) AS name) DO
  EXECUTE IMMEDIATE FORMAT(
    """CREATE SNAPSHOT TABLE IF NOT EXISTS `{{project}}.{{dataset}}_snapshots.%s_%s`
       CLONE `{{project}}.{{dataset}}.%s`
       OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL %d DAY))""",
    item.name, suffix, item.name, retention_days);
END FOR;
