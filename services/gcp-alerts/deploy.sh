#!/usr/bin/env bash
# Deploy the alert functions (2nd gen), each on its own, with one least-privilege runtime service account each,
# the `alerts` and `alerts-dead-letter` topics, the Cloud Scheduler tick and the dead-letter policies.
#   PROJECT=my-project [REGION=…] [ALERT_EMAIL_TO=a@x,b@y SMTP_HOST=… SMTP_USER=…] services/gcp-alerts/deploy.sh [--dry-run] [detect|email|slack|all]
# --dry-run prints the build, gcloud and bq commands instead of running them (every topic, account, trigger and job
# printed as created; the project number, the functions' Eventarc triggers and their subscriptions are placeholders).
# Prerequisites: infra/gcp/apis.sh (it enables cloudscheduler and secretmanager too), the dataset (`wattline gcp init`,
# which also creates the alerts tables), the energy-updated topic (infra/gcp/pubsub.sh). Secrets, created once:
#   printf %s "$SMTP_PASSWORD" | gcloud secrets create wattline-smtp-password --data-file=- --project "$PROJECT"
#   printf %s "$SLACK_WEBHOOK_URL" | gcloud secrets create wattline-slack-webhook --data-file=- --project "$PROJECT"
#
# Identities (nothing else is granted):
#   wattline-alerts-detect  storage.objectViewer on the daily bucket (readings_ext reads the files), bigquery.jobUser
#                           on the project, dataViewer on the dataset, dataEditor on the `alerts` table only,
#                           pubsub.publisher on `alerts`.
#   wattline-alerts-email   bigquery.jobUser, dataEditor on the `alert_deliveries` table only, secretAccessor on
#                           wattline-smtp-password only, pubsub.publisher on `alerts-dead-letter`.
#   wattline-alerts-slack   as email, with wattline-slack-webhook instead of the SMTP password.
#   wattline-alerts-trigger Eventarc → functions: run.invoker on these three services only, eventReceiver.
# Notify functions run with --max-instances=1 --concurrency=1: the delivery log is check-then-send, so deliveries
# are serialised (see docs/alerts.md). Transient failures raise → Pub/Sub redelivers with backoff; after
# MAX_DELIVERY_ATTEMPTS the subscription dead-letters the message to `alerts-dead-letter`.
set -euo pipefail
if [[ "${1:-}" == "--dry-run" ]]; then DRY_RUN=1; shift; fi
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../../infra/gcp/env.sh"
what="${1:-all}"
ALERTS_TOPIC="${ALERTS_TOPIC:-alerts}"
DEAD_LETTER_TOPIC="${DEAD_LETTER_TOPIC:-alerts-dead-letter}"
TICK_TOPIC="${TICK_TOPIC:-alerts-tick}"
TICK_SCHEDULE="${TICK_SCHEDULE:-*/15 * * * *}"        # re-checks the newest delivered data; silence *now* is the AWS watchdog's job
# delivered_day: silence is judged to the end of each meter's newest loaded UTC day (finds a site that went dark
# before midnight without the AWS near-real-time path); newest_reading: only to the site's newest reading — use it
# when the AWS watchdog is on (serverless param realtimeAlerts=true). See docs/alerts.md.
ALERTS_WATERMARK="${ALERTS_WATERMARK:-delivered_day}"
NOTIFY_MAX_AGE_HOURS="${NOTIFY_MAX_AGE_HOURS:-24}"     # older conditions (backfills) are recorded, not sent
MAX_DELIVERY_ATTEMPTS="${MAX_DELIVERY_ATTEMPTS:-10}"
RATED_MAX_POWER_W="${RATED_MAX_POWER_W:-11000}"
QUIET_HOURS="${QUIET_HOURS:-}"                           # e.g. 22:00-07:00 (local); critical alerts still go out
SMTP_HOST="${SMTP_HOST:-}"; SMTP_PORT="${SMTP_PORT:-587}"; SMTP_USER="${SMTP_USER:-}"
ALERT_EMAIL_FROM="${ALERT_EMAIL_FROM:-wattline@$PROJECT.local}"; ALERT_EMAIL_TO="${ALERT_EMAIL_TO:-}"
SMTP_SECRET="${SMTP_SECRET:-wattline-smtp-password}"; SLACK_SECRET="${SLACK_SECRET:-wattline-slack-webhook}"
TRIGGER_SA="wattline-alerts-trigger@$PROJECT.iam.gserviceaccount.com"
sa() { echo "wattline-alerts-$1@$PROJECT.iam.gserviceaccount.com"; }

ensure_topic() {
  exists gcloud pubsub topics describe "$1" --project "$PROJECT" \
    || run gcloud pubsub topics create "$1" --project "$PROJECT" --message-retention-duration=7d
}
ensure_sa() {
  exists gcloud iam service-accounts describe "$1@$PROJECT.iam.gserviceaccount.com" --project "$PROJECT" \
    || run gcloud iam service-accounts create "$1" --project "$PROJECT" --display-name "$2"
}
table_role() {  # table-level IAM: $1 table, $2 member, $3 role
  run_quiet bq --project_id "$PROJECT" add-iam-policy-binding --member="$2" --role="$3" "$PROJECT:$DATASET.$1"
}
dataset_reader() {  # dataset ACL READER entry for a service account
  if [[ "$DRY_RUN" == 1 ]]; then
    run bq --project_id "$PROJECT" show --format=prettyjson "$PROJECT:$DATASET"
    note "/tmp/wattline-alerts-ds.json: its access list plus {\"role\": \"READER\", \"userByEmail\": \"$1\"}"
    run bq --project_id "$PROJECT" update --source /tmp/wattline-alerts-ds.json "$PROJECT:$DATASET"
    return
  fi
  bq --project_id "$PROJECT" show --format=prettyjson "$PROJECT:$DATASET" >/tmp/wattline-alerts-ds.json
  python3 - "$1" /tmp/wattline-alerts-ds.json <<'PY'
import json, sys
email, path = sys.argv[1], sys.argv[2]
access = json.load(open(path)).setdefault("access", [])
entry = {"role": "READER", "userByEmail": email}
access.append(entry) if entry not in access else None
json.dump({"access": access}, open(path, "w"))
PY
  bq --project_id "$PROJECT" update --source /tmp/wattline-alerts-ds.json "$PROJECT:$DATASET" >/dev/null
}
common_env="WATTLINE_GCP_PROJECT=$PROJECT@WATTLINE_WAREHOUSE=bigquery@WATTLINE_BQ_DATASET=$DATASET@WATTLINE_BQ_LOCATION=$LOCATION@WATTLINE_PUBLISHER=pubsub@WATTLINE_TIMEZONE=$TIMEZONE@WATTLINE_ALERTS_TOPIC=$ALERTS_TOPIC@WATTLINE_ALERTS_DEAD_LETTER_TOPIC=$DEAD_LETTER_TOPIC@WATTLINE_RATED_MAX_POWER_W=$RATED_MAX_POWER_W@WATTLINE_ALERTS_QUIET_HOURS=$QUIET_HOURS"

deploy() {  # $1 function name, $2 entry point, $3 runtime SA, $4 trigger topic, $5 extra flags…
  local name="$1" entry="$2" runtime_sa="$3" topic="$4"; shift 4
  run gcloud functions deploy "$name" --gen2 --runtime python312 --project "$PROJECT" --region "$REGION" \
    --source "$build" --entry-point "$entry" --trigger-topic "$topic" \
    --trigger-service-account "$TRIGGER_SA" --service-account "$runtime_sa" --retry "$@"
  run_quiet gcloud functions add-invoker-policy-binding "$name" --project "$PROJECT" --region "$REGION" \
    --member "serviceAccount:$TRIGGER_SA"
  dead_letter_policy "$name"
}
dead_letter_policy() {  # the push subscription Eventarc made for the function: bounded retries, then dead-letter
  local trigger sub
  capture trigger "projects/$PROJECT/locations/$REGION/triggers/TRIGGER_OF_$1" \
    gcloud functions describe "$1" --gen2 --project "$PROJECT" --region "$REGION" \
    --format='value(eventTrigger.trigger)'
  capture sub "projects/$PROJECT/subscriptions/SUBSCRIPTION_OF_$1" \
    gcloud eventarc triggers describe "$trigger" --format='value(transport.pubsub.subscription)' 2>/dev/null || sub=""
  [[ -n "$sub" ]] || { echo "no subscription found for $1; set its dead-letter policy by hand" >&2; return; }
  run_quiet gcloud pubsub subscriptions update "$sub" --project "$PROJECT" \
    --dead-letter-topic "$DEAD_LETTER_TOPIC" --max-delivery-attempts "$MAX_DELIVERY_ATTEMPTS" \
    --min-retry-delay 10s --max-retry-delay 600s
  run_quiet gcloud pubsub subscriptions add-iam-policy-binding "$sub" --project "$PROJECT" \
    --member "serviceAccount:$PUBSUB_AGENT" --role roles/pubsub.subscriber
}

# --- shared pieces (idempotent) ---------------------------------------------------------------------------------
capture build "${BUILD_ROOT:-$(cd "$here/../.." && pwd)/.build}/gcp-alerts" "$here/build.sh"
for topic in "$ALERTS_TOPIC" "$DEAD_LETTER_TOPIC" "$TICK_TOPIC"; do ensure_topic "$topic"; done
exists gcloud pubsub subscriptions describe alerts-dead-letter-store --project "$PROJECT" \
  || run gcloud pubsub subscriptions create alerts-dead-letter-store --project "$PROJECT" --topic "$DEAD_LETTER_TOPIC" \
       --message-retention-duration=7d --expiration-period=never
capture PROJECT_NUMBER PROJECT_NUMBER gcloud projects describe "$PROJECT" --format='value(projectNumber)'
PUBSUB_AGENT="service-$PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com"
run_quiet gcloud pubsub topics add-iam-policy-binding "$DEAD_LETTER_TOPIC" --project "$PROJECT" \
  --member "serviceAccount:$PUBSUB_AGENT" --role roles/pubsub.publisher
ensure_sa wattline-alerts-trigger "wattline alerts Eventarc trigger"
run_quiet gcloud projects add-iam-policy-binding "$PROJECT" --condition=None \
  --member "serviceAccount:$TRIGGER_SA" --role roles/eventarc.eventReceiver

runtime_sa() {  # $1 short name: jobUser on the project, publisher on $2, dataEditor on table $3
  ensure_sa "wattline-alerts-$1" "wattline alerts $1 (runtime)"
  run_quiet gcloud projects add-iam-policy-binding "$PROJECT" --condition=None \
    --member "serviceAccount:$(sa "$1")" --role roles/bigquery.jobUser
  run_quiet gcloud pubsub topics add-iam-policy-binding "$2" --project "$PROJECT" \
    --member "serviceAccount:$(sa "$1")" --role roles/pubsub.publisher
  table_role "$3" "serviceAccount:$(sa "$1")" roles/bigquery.dataEditor
}

if [[ "$what" == detect || "$what" == all ]]; then
  runtime_sa detect "$ALERTS_TOPIC" alerts
  dataset_reader "$(sa detect)"
  run_quiet gcloud storage buckets add-iam-policy-binding "gs://$BUCKET" --project "$PROJECT" \
    --member "serviceAccount:$(sa detect)" --role roles/storage.objectViewer
  deploy wattline-alerts-detect detect "$(sa detect)" "$ENERGY_TOPIC" \
    --memory=1Gi --cpu=1 --timeout=300s --max-instances=2 --concurrency=1 \
    --set-env-vars="^@^$common_env@WATTLINE_BUCKET=$BUCKET@WATTLINE_ALERTS_WATERMARK=$ALERTS_WATERMARK@WATTLINE_ALERTS_NOTIFY_MAX_AGE_HOURS=$NOTIFY_MAX_AGE_HOURS"
  # The scheduler tick reaches the same service through a second Eventarc trigger.
  exists gcloud eventarc triggers describe wattline-alerts-tick --location "$REGION" --project "$PROJECT" \
    || run gcloud eventarc triggers create wattline-alerts-tick --location "$REGION" --project "$PROJECT" \
         --destination-run-service wattline-alerts-detect --destination-run-region "$REGION" \
         --event-filters type=google.cloud.pubsub.topic.v1.messagePublished \
         --transport-topic "projects/$PROJECT/topics/$TICK_TOPIC" --service-account "$TRIGGER_SA"
  verb=create
  if exists gcloud scheduler jobs describe wattline-alerts-tick --location "$REGION" --project "$PROJECT"; then
    verb=update
  fi
  run gcloud scheduler jobs "$verb" pubsub wattline-alerts-tick --location "$REGION" --project "$PROJECT" \
    --schedule "$TICK_SCHEDULE" --time-zone "Etc/UTC" --topic "$TICK_TOPIC" --message-body '{"event":"alerts.tick"}'
fi

if [[ "$what" == email || "$what" == all ]]; then
  runtime_sa email "$DEAD_LETTER_TOPIC" alert_deliveries
  run_quiet gcloud secrets add-iam-policy-binding "$SMTP_SECRET" --project "$PROJECT" \
    --member "serviceAccount:$(sa email)" --role roles/secretmanager.secretAccessor
  deploy wattline-alerts-email notify_email "$(sa email)" "$ALERTS_TOPIC" \
    --memory=512Mi --cpu=1 --timeout=60s --max-instances=1 --concurrency=1 \
    --set-secrets "WATTLINE_SMTP_PASSWORD=$SMTP_SECRET:latest" \
    --set-env-vars="^@^$common_env@WATTLINE_SMTP_HOST=$SMTP_HOST@WATTLINE_SMTP_PORT=$SMTP_PORT@WATTLINE_SMTP_USER=$SMTP_USER@WATTLINE_EMAIL_FROM=$ALERT_EMAIL_FROM@WATTLINE_EMAIL_TO=$ALERT_EMAIL_TO"
fi

if [[ "$what" == slack || "$what" == all ]]; then
  runtime_sa slack "$DEAD_LETTER_TOPIC" alert_deliveries
  run_quiet gcloud secrets add-iam-policy-binding "$SLACK_SECRET" --project "$PROJECT" \
    --member "serviceAccount:$(sa slack)" --role roles/secretmanager.secretAccessor
  deploy wattline-alerts-slack notify_slack "$(sa slack)" "$ALERTS_TOPIC" \
    --memory=512Mi --cpu=1 --timeout=60s --max-instances=1 --concurrency=1 \
    --set-secrets "WATTLINE_SLACK_WEBHOOK_URL=$SLACK_SECRET:latest" \
    --set-env-vars="^@^$common_env"
fi
[[ "$DRY_RUN" == 1 ]] || echo "alerts deployed ($what): topics $ALERTS_TOPIC, $DEAD_LETTER_TOPIC, $TICK_TOPIC; schedule '$TICK_SCHEDULE'"
