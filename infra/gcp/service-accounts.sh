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
source "$(dirname "$0")/env.sh"

ensure_sa() {
  gcloud iam service-accounts describe "$1@$PROJECT.iam.gserviceaccount.com" --project "$PROJECT" >/dev/null 2>&1 \
    || gcloud iam service-accounts create "$1" --project "$PROJECT" --display-name "$2"
}
ensure_sa "$LOADER_SA_NAME" "wattline GCS-finalize loader (runtime)"
ensure_sa "$TRIGGER_SA_NAME" "wattline loader Eventarc trigger"

gcloud storage buckets add-iam-policy-binding "gs://$BUCKET" \
  --member "serviceAccount:$LOADER_SA" --role roles/storage.objectViewer >/dev/null
gcloud projects add-iam-policy-binding "$PROJECT" --condition=None \
  --member "serviceAccount:$LOADER_SA" --role roles/bigquery.jobUser >/dev/null
gcloud pubsub topics add-iam-policy-binding "$ENERGY_TOPIC" --project "$PROJECT" \
  --member "serviceAccount:$LOADER_SA" --role roles/pubsub.publisher >/dev/null

# bigquery.dataEditor on the dataset only: add a WRITER entry to the dataset's access list.
if bq --project_id "$PROJECT" show --format=prettyjson "$PROJECT:$DATASET" >/tmp/wattline-dataset.json 2>/dev/null; then
  python3 - "$LOADER_SA" /tmp/wattline-dataset.json <<'PY'
import json, sys
email, path = sys.argv[1], sys.argv[2]
dataset = json.load(open(path))
access = dataset.setdefault("access", [])
entry = {"role": "WRITER", "userByEmail": email}
if entry not in access:
    access.append(entry)
json.dump({"access": access}, open(path, "w"))
PY
  bq --project_id "$PROJECT" update --source /tmp/wattline-dataset.json "$PROJECT:$DATASET" >/dev/null
else
  echo "dataset $PROJECT:$DATASET missing: run \`wattline gcp init\`, then re-run this script" >&2
fi

gcloud projects add-iam-policy-binding "$PROJECT" --condition=None \
  --member "serviceAccount:$TRIGGER_SA" --role roles/eventarc.eventReceiver >/dev/null

GCS_AGENT="$(gcloud storage service-agent --project "$PROJECT")"
gcloud projects add-iam-policy-binding "$PROJECT" --condition=None \
  --member "serviceAccount:$GCS_AGENT" --role roles/pubsub.publisher >/dev/null

STS_AGENT="$("$(dirname "$0")/transfer-job.sh" --print-agent-email)"
gcloud storage buckets add-iam-policy-binding "gs://$BUCKET" \
  --member "serviceAccount:$STS_AGENT" --role roles/storage.legacyBucketWriter >/dev/null
echo "service accounts bound: $LOADER_SA, $TRIGGER_SA; agents $GCS_AGENT, $STS_AGENT"
