#!/usr/bin/env bash
# Shared configuration of the GCP scripts. Source it; every value can be overridden from the environment.
# Nothing defaults to somebody else's resource: PROJECT must be set explicitly.
set -euo pipefail

: "${PROJECT:?set PROJECT to your GCP project id (gcloud projects list)}"
REGION="${REGION:-europe-central2}"                  # Cloud Functions / Eventarc region
LOCATION="${LOCATION:-$REGION}"                      # bucket + dataset location (same region keeps triggers simple)
BUCKET="${BUCKET:-${PROJECT}-wattline-daily}"        # GCS sink of the transfer; the loader's trigger bucket
DATASET="${DATASET:-wattline}"                       # BigQuery dataset (created by `wattline gcp init`)
TIMEZONE="${TIMEZONE:-Europe/Kyiv}"                  # the site's time zone: loader, alert functions, the views
ENERGY_TOPIC="${ENERGY_TOPIC:-energy-updated}"       # the loader publishes energy.updated here
LOADER_SA_NAME="${LOADER_SA_NAME:-wattline-loader}"  # runtime identity of the function
TRIGGER_SA_NAME="${TRIGGER_SA_NAME:-wattline-loader-trigger}"  # Eventarc's identity invoking the function
LOADER_SA="${LOADER_SA_NAME}@${PROJECT}.iam.gserviceaccount.com"
TRIGGER_SA="${TRIGGER_SA_NAME}@${PROJECT}.iam.gserviceaccount.com"
FUNCTION="${FUNCTION:-wattline-loader}"
TRANSFER_JOB="${TRANSFER_JOB:-wattline-daily-s3-to-gcs}"
AWS_BUCKET="${AWS_BUCKET:-}"                         # the S3 bucket holding daily/ (AWS side)
AWS_ROLE_ARN="${AWS_ROLE_ARN:-}"                     # output of infra/gcp/aws-transfer-role.sh
TRANSFER_EVERY="${TRANSFER_EVERY:-86400s}"           # 86400s daily, 3600s hourly
TRANSFER_MIN_AGE="${TRANSFER_MIN_AGE:-900s}"         # skip objects modified in the last 15 min (mid-rewrite)
export PROJECT REGION LOCATION BUCKET DATASET TIMEZONE ENERGY_TOPIC LOADER_SA TRIGGER_SA FUNCTION TRANSFER_JOB

# --dry-run support (DRY_RUN, run, run_quiet, exists, capture, note): see run.sh.
source "$(dirname "${BASH_SOURCE[0]}")/run.sh"
