#!/usr/bin/env bash
# Service accounts and least-privilege bindings of the loader (idempotent; re-run after the dataset exists).
#   wattline-loader          (function runtime): storage.objectViewer on the bucket, bigquery.dataEditor on the
#                            dataset (dataset ACL WRITER), bigquery.jobUser on the project (MERGE/load jobs),
#                            pubsub.publisher on the energy topic. Nothing else.
#   wattline-loader-trigger  (Eventarc → function): eventarc.eventReceiver on the project; run.invoker on the
#                            function's service is bound by services/gcp-loader/deploy.sh after deploying.
#   Cloud Storage service agent: pubsub.publisher on the project (required by GCS-triggered Eventarc).
#   Storage Transfer service agent: storage.legacyBucketWriter on the bucket (sink: get bucket, list/create/
#                            delete objects — overwrite when different).
# --dry-run prints the commands instead (every account printed as created; the service agents' e-mails and the
# dataset's access list are placeholders, as the commands that read them are printed, not run).
if [[ "${1:-}" == "--dry-run" ]]; then DRY_RUN=1; fi
source "$(dirname "$0")/env.sh"

ensure_sa() {
  exists gcloud iam service-accounts describe "$1@$PROJECT.iam.gserviceaccount.com" --project "$PROJECT" \
    || run gcloud iam service-accounts create "$1" --project "$PROJECT" --display-name "$2"
}
ensure_sa "$LOADER_SA_NAME" "wattline GCS-finalize loader (runtime)"
ensure_sa "$TRIGGER_SA_NAME" "wattline loader Eventarc trigger"

run_quiet gcloud storage buckets add-iam-policy-binding "gs://$BUCKET" --project "$PROJECT" \
  --member "serviceAccount:$LOADER_SA" --role roles/storage.objectViewer
run_quiet gcloud projects add-iam-policy-binding "$PROJECT" --condition=None \
  --member "serviceAccount:$LOADER_SA" --role roles/bigquery.jobUser
run_quiet gcloud pubsub topics add-iam-policy-binding "$ENERGY_TOPIC" --project "$PROJECT" \
  --member "serviceAccount:$LOADER_SA" --role roles/pubsub.publisher

# bigquery.dataEditor on the dataset only: add a WRITER entry to the dataset's access list.
ACCESS_FILE="$(mktemp "${TMPDIR:-/tmp}/wattline-dataset.XXXXXX")"
trap 'rm -f "$ACCESS_FILE"' EXIT
if [[ "$DRY_RUN" == 1 ]]; then
  run bq --project_id "$PROJECT" show --format=prettyjson "$PROJECT:$DATASET"
  note "$ACCESS_FILE: its access list plus {\"role\": \"WRITER\", \"userByEmail\": \"$LOADER_SA\"}"
  run bq --project_id "$PROJECT" update --source "$ACCESS_FILE" "$PROJECT:$DATASET"
elif bq --project_id "$PROJECT" show --format=prettyjson "$PROJECT:$DATASET" >"$ACCESS_FILE" 2>/dev/null; then
  python3 - "$LOADER_SA" "$ACCESS_FILE" <<'PY'
import json, sys
email, path = sys.argv[1], sys.argv[2]
dataset = json.load(open(path))
access = dataset.setdefault("access", [])
entry = {"role": "WRITER", "userByEmail": email}
if entry not in access:
    access.append(entry)
json.dump({"access": access}, open(path, "w"))
PY
  bq --project_id "$PROJECT" update --source "$ACCESS_FILE" "$PROJECT:$DATASET" >/dev/null
else
  echo "dataset $PROJECT:$DATASET missing: run \`wattline gcp init\`, then re-run this script" >&2
fi

run_quiet gcloud projects add-iam-policy-binding "$PROJECT" --condition=None \
  --member "serviceAccount:$TRIGGER_SA" --role roles/eventarc.eventReceiver

capture GCS_AGENT "service-PROJECT_NUMBER@gs-project-accounts.iam.gserviceaccount.com" \
  gcloud storage service-agent --project "$PROJECT"
run_quiet gcloud projects add-iam-policy-binding "$PROJECT" --condition=None \
  --member "serviceAccount:$GCS_AGENT" --role roles/pubsub.publisher

capture STS_AGENT "project-PROJECT_NUMBER@storage-transfer-service.iam.gserviceaccount.com" \
  "$(dirname "$0")/transfer-job.sh" --print-agent-email
run_quiet gcloud storage buckets add-iam-policy-binding "gs://$BUCKET" --project "$PROJECT" \
  --member "serviceAccount:$STS_AGENT" --role roles/storage.legacyBucketWriter
if [[ "$DRY_RUN" == 0 ]]; then
  echo "service accounts bound: $LOADER_SA, $TRIGGER_SA; agents $GCS_AGENT, $STS_AGENT"
fi
