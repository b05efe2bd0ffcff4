#!/usr/bin/env bash
# Daily BigQuery table snapshots of energy_hourly and alerts (docs/recovery.md). Idempotent.
#   infra/gcp/snapshots.sh            create the snapshot dataset and the scheduled query
#   infra/gcp/snapshots.sh --dry-run  print the commands (and the rendered SQL, on `#` lines) instead of running them
# The SQL is wattline's own: shared/wattline/sql/queries/snapshot_tables.sql, {{project}}/{{dataset}} filled here.
if [[ "${1:-}" == "--dry-run" ]]; then DRY_RUN=1; fi
source "$(dirname "$0")/env.sh"
SNAPSHOT_DATASET="${SNAPSHOT_DATASET:-${DATASET}_snapshots}"      # must be <dataset>_snapshots (the SQL names it)
SNAPSHOT_RETENTION_DAYS="${SNAPSHOT_RETENTION_DAYS:-35}"          # days a snapshot is kept
SNAPSHOT_SCHEDULE="${SNAPSHOT_SCHEDULE:-every day 03:30}"         # UTC; after the loader's nightly loads
SNAPSHOT_NAME="${SNAPSHOT_NAME:-wattline-table-snapshots}"        # the scheduled query's display name
SQL_FILE="$(dirname "$0")/../../shared/wattline/sql/queries/snapshot_tables.sql"

if [[ "$SNAPSHOT_DATASET" != "${DATASET}_snapshots" ]]; then
  echo "SNAPSHOT_DATASET must be ${DATASET}_snapshots (snapshot_tables.sql names it)" >&2
  exit 2
fi
QUERY="$(sed -e "s/{{project}}/${PROJECT}/g" -e "s/{{dataset}}/${DATASET}/g" \
  -e "s/^DECLARE retention_days INT64 DEFAULT [0-9]*;/DECLARE retention_days INT64 DEFAULT ${SNAPSHOT_RETENTION_DAYS};/" \
  "$SQL_FILE" | grep -v '^--')"
PARAMS="$(python3 -c 'import json, sys; print(json.dumps({"query": sys.stdin.read()}))' <<<"$QUERY")"

if [[ "$DRY_RUN" == 1 ]] || ! bq --project_id "$PROJECT" show --dataset "${PROJECT}:${SNAPSHOT_DATASET}" >/dev/null 2>&1; then
  run bq --project_id "$PROJECT" --location "$LOCATION" mk --dataset \
    --description "wattline: daily table snapshots of energy_hourly and alerts" "${PROJECT}:${SNAPSHOT_DATASET}"
fi
existing=""
if [[ "$DRY_RUN" == 0 ]]; then
  existing="$(bq --project_id "$PROJECT" ls --transfer_config --transfer_location "$LOCATION" --format json \
    | python3 -c 'import json, sys; print(" ".join(c["name"] for c in json.load(sys.stdin) if c.get("displayName") == sys.argv[1]))' "$SNAPSHOT_NAME")"
fi
if [[ -n "$existing" ]]; then
  run bq --project_id "$PROJECT" update --transfer_config --params "$PARAMS" --schedule "$SNAPSHOT_SCHEDULE" "$existing"
else
  run bq --project_id "$PROJECT" --location "$LOCATION" mk --transfer_config \
    --data_source scheduled_query --display_name "$SNAPSHOT_NAME" \
    --schedule "$SNAPSHOT_SCHEDULE" --params "$PARAMS"
fi
if [[ "$DRY_RUN" == 1 ]]; then
  note "the scheduled query (--params query):"
  sed 's/^/# /' <<<"$QUERY"
else
  echo "scheduled query $SNAPSHOT_NAME: $SNAPSHOT_SCHEDULE, snapshots in ${PROJECT}:${SNAPSHOT_DATASET}, kept ${SNAPSHOT_RETENTION_DAYS} days"
fi
