#!/usr/bin/env bash
# Security scan of the wattline AWS templates with checkov (docs/aws.md, "Security scan").
#   - installs the pinned checkov into its own venv, .tools/checkov (it pins an older boto3 than the project's);
#   - scans every template given with the repository's .checkov.yml: every check runs, and each skipped one is
#     skipped beside its resource (CloudFormation Metadata `checkov: skip: [{id, comment}]`) with its reason;
#   - checkov evaluates Conditions with the parameters' defaults, so the ingest stack's Firehose resources
#     (IngestMode=firehose) would never be scanned: a wattline-ingest.yml is scanned twice, as given and as a
#     copy whose IngestMode default is firehose;
#   - exits non-zero when any check fails (or nothing was scanned).
# Usage: bash infra/aws/checkov.sh TEMPLATE...       (infra/aws/package.sh and tests/unit/infra run it)
#        bash infra/aws/checkov.sh --install          (only install)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VERSION=3.3.30
VENV="$ROOT/.tools/checkov"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/checkov" ] || [ "$(cat "$VENV/.version" 2>/dev/null)" != "$VERSION" ]; then
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "checkov==$VERSION"
  echo "$VERSION" >"$VENV/.version"
fi
[ "${1:-}" = "--install" ] && exit 0
[ $# -gt 0 ] || { echo "usage: $0 TEMPLATE..." >&2; exit 2; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
args=()
for template in "$@"; do
  [ -f "$template" ] || { echo "no such template: $template" >&2; exit 2; }
  args+=(--file "$template")
  if [ "$(basename "$template")" = wattline-ingest.yml ]; then
    variant="$WORK/wattline-ingest-firehose.yml"
    sed 's/^    Default: direct$/    Default: firehose/' "$template" >"$variant"
    [ "$(grep -c '^    Default: firehose$' "$variant")" = 1 ] || { echo "IngestMode default not found in $template" >&2; exit 2; }
    args+=(--file "$variant")
  fi
done
# Offline: no download of external checks, no Prisma Cloud mapping, no version check.
export BC_SKIP_MAPPING=TRUE CKV_NO_VERSION_CHECK=true
"$VENV/bin/checkov" --config-file "$ROOT/.checkov.yml" "${args[@]}"
