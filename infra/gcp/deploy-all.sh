#!/usr/bin/env bash
# The whole GCP half, in order (each step idempotent). See docs/deploy.md and docs/gcp.md.
#   PROJECT=... AWS_BUCKET=... [MONITORING_EMAIL=...] [ALERTS_DEPLOY=...] infra/gcp/deploy-all.sh [--dry-run]
# The order: APIs → bucket (versioned) → energy-updated topic → dataset (`wattline gcp init`) → the loader's
# service accounts and bindings (they need the bucket, the topic and the dataset) → the AWS role of the transfer
# (skipped when AWS_ROLE_ARN is set; needs AWS credentials) → the transfer job → the loader function → the alert
# functions (ALERTS_DEPLOY: `all`, the default, or some of `detect email slack`, or `none`; email and slack need
# their Secret Manager secrets first, see services/gcp-alerts/deploy.sh) → the monitoring (only with
# MONITORING_EMAIL) → the daily BigQuery snapshots.
# --dry-run prints every command of every step, in this order, instead of running it: nothing is called (no
# gcloud, bq, aws, curl or wattline needed), values that a command would print are placeholders in capitals.
set -euo pipefail
if [[ "${1:-}" == "--dry-run" ]]; then DRY_RUN=1; fi
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"
: "${AWS_BUCKET:?set AWS_BUCKET (the S3 bucket holding daily/: the BucketName output of the wattline-ingest stack)}"
export AWS_BUCKET
ALERTS_DEPLOY="${ALERTS_DEPLOY:-all}"
if [[ "$ALERTS_DEPLOY" != all && "$ALERTS_DEPLOY" != none && -z "${ALERT_FUNCTIONS:-}" ]]; then
  # the monitoring counts the errors of the alert functions that exist
  ALERT_FUNCTIONS=""
  for what in $ALERTS_DEPLOY; do ALERT_FUNCTIONS+="${ALERT_FUNCTIONS:+ }wattline-alerts-$what"; done
  export ALERT_FUNCTIONS
fi

"$here/apis.sh"
"$here/bucket.sh"
"$here/pubsub.sh"
run wattline gcp init --project "$PROJECT" --dataset "$DATASET" --location "$LOCATION" --bucket "$BUCKET" \
  --tz "$TIMEZONE"
"$here/service-accounts.sh"
if [ -z "${AWS_ROLE_ARN:-}" ]; then
  capture AWS_ROLE_ARN "arn:aws:iam::AWS_ACCOUNT_ID:role/wattline-gcs-transfer" "$here/aws-transfer-role.sh"
fi
export AWS_ROLE_ARN
"$here/transfer-job.sh"
"$here/../../services/gcp-loader/deploy.sh"
if [[ "$ALERTS_DEPLOY" != none ]]; then
  for what in $ALERTS_DEPLOY; do "$here/../../services/gcp-alerts/deploy.sh" "$what"; done
fi
if [ -n "${MONITORING_EMAIL:-}" ]; then
  "$here/monitoring.sh"
else
  note "monitoring skipped: set MONITORING_EMAIL to create the alert policies (infra/gcp/monitoring.sh)"
fi
"$here/snapshots.sh"
