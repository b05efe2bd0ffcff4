#!/usr/bin/env bash
# Pub/Sub topics of the GCP half (idempotent): energy.updated events of the loader.
# --dry-run prints the commands instead of running them (the topic printed as created).
if [[ "${1:-}" == "--dry-run" ]]; then DRY_RUN=1; fi
source "$(dirname "$0")/env.sh"
for topic in "$ENERGY_TOPIC"; do
  exists gcloud pubsub topics describe "$topic" --project "$PROJECT" \
    || run gcloud pubsub topics create "$topic" --project "$PROJECT" --message-retention-duration=7d
done
if [[ "$DRY_RUN" == 0 ]]; then echo "topic $ENERGY_TOPIC ready"; fi
