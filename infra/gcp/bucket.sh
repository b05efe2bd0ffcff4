#!/usr/bin/env bash
# The GCS bucket that receives daily/ from S3 and triggers the loader. Idempotent.
source "$(dirname "$0")/env.sh"
if ! gcloud storage buckets describe "gs://$BUCKET" --project "$PROJECT" >/dev/null 2>&1; then
  gcloud storage buckets create "gs://$BUCKET" --project "$PROJECT" --location "$LOCATION" \
    --uniform-bucket-level-access --public-access-prevention --default-storage-class STANDARD
fi
# Object versioning off: the transfer overwrites a day when the aggregator rewrote it (late data); the loader
# reads the current generation and acks events of superseded ones.
gcloud storage buckets update "gs://$BUCKET" --no-versioning >/dev/null
echo "bucket gs://$BUCKET ready"
