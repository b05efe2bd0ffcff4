#!/usr/bin/env bash
# The Storage Transfer Service job S3 daily/ → GCS, created (or updated) through the REST API.
#   transfer-job.sh                     create or update the job from transfer-job.json (needs AWS_BUCKET,
#                                       AWS_ROLE_ARN; TRANSFER_EVERY=3600s for hourly, default daily)
#   transfer-job.sh --print-subject-id  the STS service agent's subject id: the AWS role's trust condition
#   transfer-job.sh --print-agent-email the STS service agent's email (bound on the bucket by service-accounts.sh)
#   transfer-job.sh --run               start a run now
#   --dry-run (with any of the above)   print the curl commands (and the request bodies) instead of running them;
#                                       the access token is the placeholder ACCESS_TOKEN, the job printed as created
# Authentication to AWS is federated (awsS3DataSource.roleArn: STS assumes the role with a Google-signed OIDC
# token whose `sub` is the subject id) — no AWS access keys are stored anywhere.
# Equivalent gcloud (for reference): gcloud transfer jobs create s3://$AWS_BUCKET gs://$BUCKET
#   --source-creds-file=<(echo "{\"roleArn\":\"$AWS_ROLE_ARN\"}") --include-prefixes=daily/
#   --include-modified-before-relative=15m --overwrite-when=different --schedule-repeats-every=24h
action=""
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    --print-subject-id | --print-agent-email | --run) action="$arg" ;;
    *) echo "usage: $0 [--dry-run] [--print-subject-id | --print-agent-email | --run]" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/env.sh"
API=https://storagetransfer.googleapis.com/v1
capture TOKEN ACCESS_TOKEN gcloud auth print-access-token
call() { run curl -fsS -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" "$@"; }

agent_field() {
  if [[ "$DRY_RUN" == 1 ]]; then
    call "$API/googleServiceAccounts/$PROJECT"
    note "prints its $1"
  else
    call "$API/googleServiceAccounts/$PROJECT" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"
  fi
}

case "$action" in
  --print-subject-id) agent_field subjectId; exit 0 ;;
  --print-agent-email) agent_field accountEmail; exit 0 ;;
  --run) call -X POST "$API/transferJobs/$TRANSFER_JOB:run" -d "{\"projectId\": \"$PROJECT\"}"; exit 0 ;;
esac

: "${AWS_BUCKET:?set AWS_BUCKET (the S3 bucket holding daily/)}"
: "${AWS_ROLE_ARN:?set AWS_ROLE_ARN (output RoleArn of infra/gcp/aws-transfer-role.sh)}"
START_YEAR="$(date -u +%Y)" START_MONTH="$(date -u +%-m)" START_DAY="$(date -u +%-d)"
export START_YEAR START_MONTH START_DAY AWS_BUCKET AWS_ROLE_ARN TRANSFER_EVERY TRANSFER_MIN_AGE
BODY="$(python3 - "$(dirname "$0")/transfer-job.json" <<'PY'
import json, os, string, sys
text = string.Template(open(sys.argv[1]).read()).substitute(os.environ)
print(json.dumps(json.loads(text)))
PY
)"
if exists call "$API/transferJobs/$TRANSFER_JOB?projectId=$PROJECT"; then
  MASK="description,status,schedule,transferSpec,loggingConfig"
  call -X PATCH "$API/transferJobs/$TRANSFER_JOB" \
    -d "{\"projectId\": \"$PROJECT\", \"transferJob\": $BODY, \"updateTransferJobFieldMask\": \"$MASK\"}" >/dev/null
  echo "transfer job $TRANSFER_JOB updated"
else
  if [[ "$DRY_RUN" == 1 ]]; then
    call -X POST "$API/transferJobs" -d "$BODY"
  else
    call -X POST "$API/transferJobs" -d "$BODY" >/dev/null
    echo "transfer job $TRANSFER_JOB created (every $TRANSFER_EVERY, daily/ only, overwrite when different)"
  fi
fi
