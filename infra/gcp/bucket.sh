#!/usr/bin/env bash
# The GCS bucket that receives daily/ from S3 and triggers the loader. Idempotent.
# --dry-run prints the commands instead of running them (the bucket printed as created).
if [[ "${1:-}" == "--dry-run" ]]; then DRY_RUN=1; fi
source "$(dirname "$0")/env.sh"
if ! exists gcloud storage buckets describe "gs://$BUCKET" --project "$PROJECT"; then
  run gcloud storage buckets create "gs://$BUCKET" --project "$PROJECT" --location "$LOCATION" \
    --uniform-bucket-level-access --public-access-prevention --default-storage-class STANDARD
fi
# Object versioning off: the transfer overwrites a day when the aggregator rewrote it (late data); the loader
# reads the current generation and acks events of superseded ones.
if [[ "$DRY_RUN" == 1 ]]; then
  run gcloud storage buckets update "gs://$BUCKET" --no-versioning
else
  gcloud storage buckets update "gs://$BUCKET" --no-versioning >/dev/null
  echo "bucket gs://$BUCKET ready"
fi
