#!/usr/bin/env bash
# The GCS bucket that receives daily/ from S3 and triggers the loader. Idempotent.
#   infra/gcp/bucket.sh [--noncurrent-days N] [--newer-versions K] [--dry-run]
# --dry-run prints the commands instead of running them (the bucket printed as created, the lifecycle file's
# content on a `#` line).
#
# Object versioning is on: when the transfer overwrites a day the aggregator rewrote (late data), or a daily file is
# deleted by mistake, the replaced generation stays as a noncurrent version and can be restored (docs/recovery.md).
# The loader is unaffected: Eventarc's finalize fires for the new live generation only, and an event of a
# generation that is no longer live is acked as `superseded`. The lifecycle (bucket-lifecycle.json) deletes a
# noncurrent version when it has been noncurrent for N days (NONCURRENT_DAYS, --noncurrent-days; default 30, like
# the S3 bucket's NoncurrentVersionDays) or as soon as K newer versions of its object exist, the live one included
# (NEWER_VERSIONS, --newer-versions; default 3): at most K versions of a daily file are kept. Live objects are never
# deleted by the lifecycle.
NONCURRENT_DAYS="${NONCURRENT_DAYS:-30}"
NEWER_VERSIONS="${NEWER_VERSIONS:-3}"
while (($#)); do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --noncurrent-days) NONCURRENT_DAYS="${2:?--noncurrent-days needs a number of days}"; shift ;;
    --newer-versions) NEWER_VERSIONS="${2:?--newer-versions needs a number of versions}"; shift ;;
    *) echo "usage: $0 [--noncurrent-days N] [--newer-versions K] [--dry-run]" >&2; exit 2 ;;
  esac
  shift
done
source "$(dirname "$0")/env.sh"
if ! [[ "$NONCURRENT_DAYS" =~ ^[0-9]+$ && "$NEWER_VERSIONS" =~ ^[1-9][0-9]*$ ]]; then
  echo "NONCURRENT_DAYS must be a whole number of days (0 or more), NEWER_VERSIONS a whole number from 1" >&2
  exit 2
fi

if ! exists gcloud storage buckets describe "gs://$BUCKET" --project "$PROJECT"; then
  run gcloud storage buckets create "gs://$BUCKET" --project "$PROJECT" --location "$LOCATION" \
    --uniform-bucket-level-access --public-access-prevention --default-storage-class STANDARD
fi

LIFECYCLE="$(NONCURRENT_DAYS="$NONCURRENT_DAYS" NEWER_VERSIONS="$NEWER_VERSIONS" python3 - \
  "$(dirname "$0")/bucket-lifecycle.json" <<'PY'
import json, os, string, sys
text = string.Template(open(sys.argv[1]).read()).substitute(os.environ)
print(json.dumps(json.loads(text)))
PY
)"
workdir="$(mktemp -d "${TMPDIR:-/tmp}/wattline-bucket.XXXXXX")"
trap 'rm -rf "$workdir"' EXIT
if [[ "$DRY_RUN" == 0 ]]; then printf '%s\n' "$LIFECYCLE" >"$workdir/lifecycle.json"; fi
run_quiet gcloud storage buckets update "gs://$BUCKET" --project "$PROJECT" --versioning \
  --lifecycle-file "$workdir/lifecycle.json"
note "$workdir/lifecycle.json: $LIFECYCLE"
if [[ "$DRY_RUN" == 0 ]]; then
  echo "bucket gs://$BUCKET ready (versioned; noncurrent versions kept $NONCURRENT_DAYS days, at most $NEWER_VERSIONS versions)"
fi
