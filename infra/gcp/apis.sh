#!/usr/bin/env bash
# Enable the APIs the GCP half uses (idempotent).
source "$(dirname "$0")/env.sh"
gcloud services enable --project "$PROJECT" \
  storage.googleapis.com storagetransfer.googleapis.com pubsub.googleapis.com bigquery.googleapis.com \
  cloudfunctions.googleapis.com run.googleapis.com eventarc.googleapis.com cloudbuild.googleapis.com \
  artifactregistry.googleapis.com logging.googleapis.com iam.googleapis.com
