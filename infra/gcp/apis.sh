#!/usr/bin/env bash
# Enable the APIs the GCP half uses (idempotent): the loader's, the alert functions' (Cloud Scheduler, Secret
# Manager), the monitoring's and the snapshots' (BigQuery Data Transfer runs the scheduled query).
# --dry-run prints the command instead of running it.
if [[ "${1:-}" == "--dry-run" ]]; then DRY_RUN=1; fi
source "$(dirname "$0")/env.sh"
run gcloud services enable --project "$PROJECT" \
  storage.googleapis.com storagetransfer.googleapis.com pubsub.googleapis.com bigquery.googleapis.com \
  cloudfunctions.googleapis.com run.googleapis.com eventarc.googleapis.com cloudbuild.googleapis.com \
  artifactregistry.googleapis.com logging.googleapis.com monitoring.googleapis.com iam.googleapis.com \
  cloudscheduler.googleapis.com secretmanager.googleapis.com bigquerydatatransfer.googleapis.com
