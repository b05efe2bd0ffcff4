#!/usr/bin/env bash
# Pub/Sub topics of the GCP half (idempotent): energy.updated events of the loader.
source "$(dirname "$0")/env.sh"
for topic in "$ENERGY_TOPIC"; do
  gcloud pubsub topics describe "$topic" --project "$PROJECT" >/dev/null 2>&1 \
    || gcloud pubsub topics create "$topic" --project "$PROJECT" --message-retention-duration=7d
done
echo "topic $ENERGY_TOPIC ready"
