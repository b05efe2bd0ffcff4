-- wattline: backends=duckdb dialect=duckdb
-- The embedded warehouse's analogue of the BigQuery external table: the same files on local disk.
-- {{readings_source}} is read_json(...) over <gcs_root>/<bucket>/daily/*/*/readings.jsonl.gz with hive partitioning,
-- or an empty typed relation while no daily file exists yet (DuckDB binds a view when it is created).
CREATE OR REPLACE VIEW "{{project}}"."{{dataset}}"."readings_ext" AS
SELECT * FROM {{readings_source}};
