#!/usr/bin/env bash
# Monitoring of the GCP half as code (idempotent; docs/gcp.md, "Monitoring"): log-based metrics, one e-mail
# notification channel and four Cloud Monitoring alert policies.
#   MONITORING_EMAIL=ops@example.org infra/gcp/monitoring.sh            create or update everything
#   MONITORING_EMAIL=ops@example.org infra/gcp/monitoring.sh --dry-run  print the gcloud commands instead (the
#                                       existence checks are skipped: every object is printed as created)
# Run after the functions exist (services/gcp-loader/deploy.sh, services/gcp-alerts/deploy.sh) and the transfer job.
#
#   policy                     fires when                                                  metric
#   function errors            any ERROR log entry of a wattline function in 5 minutes      wattline_function_errors
#   transfer job failures      any FAILED action (FIND/COPY) of the transfer job, 5 minutes wattline_transfer_failures
#   alerts dead-letter backlog at least one message waiting in alerts-dead-letter-store     Pub/Sub num_undelivered_messages
#   loader freshness           no "N rows merged" (status=loaded) loader entry for 26 h     wattline_loader_rows_merged
# The loader loads each UTC day once, after the transfer (03:15 UTC), so a day without a load means the day that
# closed has no energy_hourly rows. 26 h, not 24: one late transfer must not page. Metric-absence conditions stop
# at 23.5 h, so this one is a PromQL absent_over_time() condition on the log-based metric.
DRY_RUN="${DRY_RUN:-0}"
if [[ "${1:-}" == "--dry-run" ]]; then DRY_RUN=1; fi
source "$(dirname "$0")/env.sh"
: "${MONITORING_EMAIL:?set MONITORING_EMAIL to the address the alert policies notify}"
ALERT_FUNCTIONS="${ALERT_FUNCTIONS:-wattline-alerts-detect wattline-alerts-email wattline-alerts-slack}"
DEAD_LETTER_SUBSCRIPTION="${DEAD_LETTER_SUBSCRIPTION:-alerts-dead-letter-store}"  # services/gcp-alerts/deploy.sh
LOADER_FRESHNESS="${LOADER_FRESHNESS:-26h}"                                        # PromQL duration

# --- log-based metrics (counters) ------------------------------------------------------------------------------
services=""
for name in $FUNCTION $ALERT_FUNCTIONS; do services+="${services:+ OR }\"$name\""; done
FUNCTION_ERRORS_FILTER="resource.type=\"cloud_run_revision\" AND resource.labels.service_name=($services) AND severity>=ERROR"
TRANSFER_FAILURES_FILTER="resource.type=\"storage_transfer_job\" AND resource.labels.job_id=\"transferJobs/$TRANSFER_JOB\" AND severity>=ERROR"
ROWS_MERGED_FILTER="resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"$FUNCTION\" AND jsonPayload.status=\"loaded\""

log_metric() {  # $1 name, $2 description, $3 filter
  local verb=create
  if exists gcloud logging metrics describe "$1" --project "$PROJECT"; then verb=update; fi
  run gcloud logging metrics "$verb" "$1" --project "$PROJECT" --description "$2" --log-filter "$3"
}
log_metric wattline_function_errors "wattline: ERROR log entries of the GCP functions" "$FUNCTION_ERRORS_FILTER"
log_metric wattline_transfer_failures "wattline: FAILED actions of the Storage Transfer job" "$TRANSFER_FAILURES_FILTER"
log_metric wattline_loader_rows_merged "wattline: daily files the loader merged into energy_hourly" "$ROWS_MERGED_FILTER"

# --- the notification channel --------------------------------------------------------------------------------
CHANNEL=""
if [[ "$DRY_RUN" == 0 ]]; then
  CHANNEL="$(gcloud beta monitoring channels list --project "$PROJECT" --format 'value(name)' \
    --filter "type=\"email\" AND labels.email_address=\"$MONITORING_EMAIL\"" | head -n1)"
fi
if [[ -z "$CHANNEL" ]]; then
  create_channel=(gcloud beta monitoring channels create --project "$PROJECT" --type email
    --display-name "wattline monitoring ($MONITORING_EMAIL)" --channel-labels "email_address=$MONITORING_EMAIL"
    --format 'value(name)')
  if [[ "$DRY_RUN" == 1 ]]; then
    run "${create_channel[@]}"
    CHANNEL="projects/$PROJECT/notificationChannels/CHANNEL_ID"  # the id the create prints
  else
    CHANNEL="$("${create_channel[@]}")"
  fi
fi

# --- alert policies (one per condition; found again by display name) -----------------------------------------
POLICIES="$(CHANNEL="$CHANNEL" FUNCTION_ERRORS_FILTER="$FUNCTION_ERRORS_FILTER" \
  DEAD_LETTER_SUBSCRIPTION="$DEAD_LETTER_SUBSCRIPTION" LOADER_FRESHNESS="$LOADER_FRESHNESS" python3 - <<'PY'
import json, os

def counted(metric: str, resource: str, group_by: list[str]) -> dict:
    """Any count above 0 of a log-based counter within 5 minutes."""
    return {
        "conditionThreshold": {
            "filter": f'resource.type="{resource}" AND metric.type="logging.googleapis.com/user/{metric}"',
            "aggregations": [{
                "alignmentPeriod": "300s", "perSeriesAligner": "ALIGN_SUM",
                "crossSeriesReducer": "REDUCE_SUM", "groupByFields": group_by,
            }],
            "comparison": "COMPARISON_GT", "thresholdValue": 0, "duration": "0s", "trigger": {"count": 1},
        }
    }

dead_letters = {
    "conditionThreshold": {
        "filter": (
            'resource.type="pubsub_subscription" AND '
            f'resource.labels.subscription_id="{os.environ["DEAD_LETTER_SUBSCRIPTION"]}" AND '
            'metric.type="pubsub.googleapis.com/subscription/num_undelivered_messages"'
        ),
        "aggregations": [{"alignmentPeriod": "300s", "perSeriesAligner": "ALIGN_MAX"}],
        "comparison": "COMPARISON_GT", "thresholdValue": 0, "duration": "0s", "trigger": {"count": 1},
    }
}
freshness = {
    "conditionPrometheusQueryLanguage": {
        "query": (
            'absent_over_time(logging_googleapis_com:user_wattline_loader_rows_merged'
            f'{{monitored_resource="cloud_run_revision"}}[{os.environ["LOADER_FRESHNESS"]}])'
        ),
        "duration": "0s", "evaluationInterval": "600s",
    }
}
policies = [
    ("wattline: function errors", "A wattline Cloud Function logged an error (logs: severity>=ERROR).",
     counted("wattline_function_errors", "cloud_run_revision", ["resource.label.service_name"])),
    ("wattline: transfer job failures", "The S3-to-GCS Storage Transfer job failed to list or copy objects.",
     counted("wattline_transfer_failures", "storage_transfer_job", ["resource.label.job_id"])),
    ("wattline: alerts dead-letter backlog",
     "Alert deliveries gave up and wait in the dead-letter subscription (docs/alerts.md).", dead_letters),
    ("wattline: loader freshness",
     f"The loader merged no daily file into energy_hourly for {os.environ['LOADER_FRESHNESS']}.", freshness),
]
for name, documentation, condition in policies:
    policy = {
        "displayName": name,
        "documentation": {"content": documentation, "mimeType": "text/markdown"},
        "conditions": [{"displayName": name, **condition}],
        "combiner": "OR",
        "enabled": True,
        "notificationChannels": [os.environ["CHANNEL"]],
        "alertStrategy": {"autoClose": "604800s"},
    }
    print(name, json.dumps(policy, ensure_ascii=False, separators=(",", ":")), sep="\t")
PY
)"
while IFS=$'\t' read -r name policy; do
  existing=""
  if [[ "$DRY_RUN" == 0 ]]; then
    existing="$(gcloud alpha monitoring policies list --project "$PROJECT" --format 'value(name)' \
      --filter "displayName=\"$name\"" | head -n1)"
  fi
  if [[ -n "$existing" ]]; then
    run gcloud alpha monitoring policies update "$existing" --project "$PROJECT" --policy "$policy"
  else
    run gcloud alpha monitoring policies create --project "$PROJECT" --policy "$policy"
  fi
done <<<"$POLICIES"
if [[ "$DRY_RUN" == 0 ]]; then echo "monitoring ready: 3 log-based metrics, 4 alert policies → $MONITORING_EMAIL"; fi
