#!/usr/bin/env bash
# Offline deployment check of the wattline AWS side (what CI runs through tests/unit/infra):
#   - installs the pinned Serverless Framework v3 + asl-validator (infra/aws/tools, `npm ci`, cached);
#   - validates the state machine definition (ASL);
#   - packages both services with dummy credentials (no AWS account, no network);
#   - lints the ingest stack and the generated CloudFormation templates with cfn-lint;
#   - scans them with checkov (infra/aws/checkov.sh: its own venv under .tools/, zero failed checks).
# Usage: bash infra/aws/package.sh [--full-bundle]   (default bundles sources only, offline)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TOOLS="$ROOT/infra/aws/tools"
BUNDLE_MODE="--offline"
[ "${1:-}" = "--full-bundle" ] && BUNDLE_MODE="full"

if [ ! -x "$TOOLS/node_modules/.bin/serverless" ] || [ "$TOOLS/package-lock.json" -nt "$TOOLS/node_modules/.package-lock.json" ]; then
  (cd "$TOOLS" && npm ci --no-audit --no-fund --loglevel=error)
fi

export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-offline-dummy}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-offline-dummy}"
export SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off SLS_INTERACTIVE_SETUP_DISABLE=1

"$TOOLS/node_modules/.bin/asl-validator" --json-path "$ROOT/services/aws-aggregator/statemachine/daily-aggregation.asl.json"

ARTIFACT=.build/offline-bundle.zip
[ "$BUNDLE_MODE" = "full" ] && ARTIFACT=.build/bundle.zip
for service in aws-aggregator aws-archiver; do
  bash "$ROOT/infra/aws/build-bundle.sh" "$ROOT/services/$service" $BUNDLE_MODE
  (cd "$ROOT/services/$service" && "$TOOLS/node_modules/.bin/serverless" package --param="bucket=wattline-offline-check" --param="artifact=$ARTIFACT")
done

# W3005: serverless itself adds DependsOn on a function's role next to the GetAtt; harmless, not ours to change.
"$ROOT/.venv/bin/cfn-lint" --ignore-checks W3005 -- "$ROOT/infra/aws/wattline-ingest.yml" \
  "$ROOT"/services/aws-{aggregator,archiver}/.serverless/cloudformation-template-{update,create}-stack.json
# The create templates are not scanned: each is the bootstrap subset (the deployment bucket alone) that the update
# template, scanned here, holds again with its final properties (docs/aws.md, "Security scan").
bash "$ROOT/infra/aws/checkov.sh" "$ROOT/infra/aws/wattline-ingest.yml" \
  "$ROOT/services/aws-aggregator/.serverless/cloudformation-template-update-stack.json" \
  "$ROOT/services/aws-archiver/.serverless/cloudformation-template-update-stack.json"
echo "AWS deployment check passed"
