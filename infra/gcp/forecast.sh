#!/usr/bin/env bash
# BigQuery ML daily forecasts (docs/forecast.md, "BigQuery ML"): train the ARIMA_PLUS model over energy_hourly
# (per device and channel, complete local days) and create the forecast_daily view over ML.FORECAST. Idempotent
# (CREATE OR REPLACE); re-run to retrain on newer days. Needs `wattline gcp init` first (energy_hourly_local).
#   infra/gcp/forecast.sh            train the model, then create the view
#   infra/gcp/forecast.sh --dry-run  print the two `bq query` commands (the rendered SQL is their last argument)
# The SQL is wattline's own: shared/wattline/sql/queries/forecast_{arima_model,daily_view}.sql, {{project}},
# {{dataset}} and {{timezone}} filled here, comment lines dropped, on one line.
if [[ "${1:-}" == "--dry-run" ]]; then DRY_RUN=1; fi
source "$(dirname "$0")/env.sh"
SQL_DIR="$(dirname "$0")/../../shared/wattline/sql/queries"

render() {
  sed -e "s|{{project}}|${PROJECT}|g" -e "s|{{dataset}}|${DATASET}|g" -e "s|{{timezone}}|${TIMEZONE}|g" "$1" \
    | grep -v '^--' | tr -s '\n ' '  '
}

for name in forecast_arima_model forecast_daily_view; do
  run_quiet bq --project_id "$PROJECT" --location "$LOCATION" query --use_legacy_sql=false --nouse_cache \
    "$(render "$SQL_DIR/$name.sql")"
done
if [[ "$DRY_RUN" == 0 ]]; then
  echo "model ${PROJECT}.${DATASET}.forecast_arima trained; view ${PROJECT}.${DATASET}.forecast_daily created"
fi
