#!/usr/bin/env bash
# Deploy the GCS-finalize loader as a 2nd-gen Cloud Function. Run infra/gcp/service-accounts.sh first.
#   PROJECT=my-project [BUCKET=...] [REGION=...] [TIMEZONE=...] [MAX_EVENT_AGE_S=...] services/gcp-loader/deploy.sh [--dry-run]
# Runtime identity: wattline-loader (objectViewer on the bucket, dataEditor on the dataset, jobUser, publisher on
# the energy topic). Eventarc invokes it as wattline-loader-trigger (eventReceiver + run.invoker on this service).
# --retry: a raised TransientError (HTTP 500) makes Eventarc redeliver with backoff; events older than
# WATTLINE_MAX_EVENT_AGE_S are dropped by the loader instead.
# --dry-run prints the build and gcloud commands instead of running them (the bucket's location is taken as
# LOCATION, where infra/gcp/bucket.sh creates it).
set -euo pipefail
if [[ "${1:-}" == "--dry-run" ]]; then DRY_RUN=1; fi
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../../infra/gcp/env.sh"
MAX_EVENT_AGE_S="${MAX_EVENT_AGE_S:-21600}"

capture build "${BUILD_ROOT:-$(cd "$here/../.." && pwd)/.build}/gcp-loader" "$here/build.sh"
capture BUCKET_LOCATION "$LOCATION" gcloud storage buckets describe "gs://$BUCKET" --project "$PROJECT" \
  --format='value(location)'
BUCKET_LOCATION="${BUCKET_LOCATION,,}"

run gcloud functions deploy "$FUNCTION" --gen2 --runtime python312 --project "$PROJECT" --region "$REGION" \
  --source "$build" --entry-point load_daily_file \
  --trigger-event-filters="type=google.cloud.storage.object.v1.finalized" \
  --trigger-event-filters="bucket=$BUCKET" \
  --trigger-location="$BUCKET_LOCATION" \
  --trigger-service-account="$TRIGGER_SA" \
  --service-account="$LOADER_SA" \
  --retry --memory=512Mi --cpu=1 --timeout=300s --max-instances=5 --concurrency=1 \
  --set-env-vars="^@^WATTLINE_GCP_PROJECT=$PROJECT@WATTLINE_STORAGE=gcs@WATTLINE_WAREHOUSE=bigquery@WATTLINE_BQ_DATASET=$DATASET@WATTLINE_BQ_LOCATION=$LOCATION@WATTLINE_BUCKET=$BUCKET@WATTLINE_PUBLISHER=pubsub@WATTLINE_ENERGY_TOPIC=$ENERGY_TOPIC@WATTLINE_TIMEZONE=$TIMEZONE@WATTLINE_MAX_EVENT_AGE_S=$MAX_EVENT_AGE_S"

run gcloud functions add-invoker-policy-binding "$FUNCTION" --project "$PROJECT" --region "$REGION" \
  --member="serviceAccount:$TRIGGER_SA"
if [[ "$DRY_RUN" == 0 ]]; then echo "deployed $FUNCTION (trigger: finalize in gs://$BUCKET)"; fi
