#!/usr/bin/env bash
# The whole GCP half, in order (each step idempotent). See docs/gcp.md.
#   PROJECT=... AWS_BUCKET=... infra/gcp/deploy-all.sh
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
