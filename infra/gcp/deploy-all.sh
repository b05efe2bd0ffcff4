#!/usr/bin/env bash
# The whole GCP half, in order (each step idempotent). See docs/gcp.md.
#   PROJECT=... AWS_BUCKET=... [MONITORING_EMAIL=...] infra/gcp/deploy-all.sh
# With MONITORING_EMAIL set, the monitoring (infra/gcp/monitoring.sh) comes last.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"
"$here/apis.sh"
"$here/bucket.sh"
"$here/pubsub.sh"
WATTLINE_WAREHOUSE=bigquery WATTLINE_GCP_PROJECT="$PROJECT" WATTLINE_BQ_DATASET="$DATASET" \
  WATTLINE_BQ_LOCATION="$LOCATION" WATTLINE_BUCKET="$BUCKET" wattline gcp init
"$here/service-accounts.sh"
if [ -z "${AWS_ROLE_ARN:-}" ]; then
  AWS_ROLE_ARN="$("$here/aws-transfer-role.sh")"
  export AWS_ROLE_ARN
fi
"$here/transfer-job.sh"
"$here/../../services/gcp-loader/deploy.sh"
if [ -n "${MONITORING_EMAIL:-}" ]; then
  "$here/monitoring.sh"
fi
