#!/usr/bin/env bash
# Assemble the deployable source of the alert functions in .build/gcp-alerts (or $1): main.py, the gcp_alerts
# wiring, a vendored copy of the shared `wattline` package (Cloud Functions installs requirements.txt from PyPI and
# cannot see the uv workspace), and requirements.txt. The CLI, the local stack and the simulator are left out.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${1:-$repo/.build/gcp-alerts}"
rm -rf "$out"
mkdir -p "$out"
cp "$here/main.py" "$here/requirements.txt" "$out/"
cp -r "$here/gcp_alerts" "$out/gcp_alerts"
cp -r "$repo/shared/wattline" "$out/wattline"
rm -rf "$out/wattline/cli" "$out/wattline/local" "$out/wattline/simulator"
find "$out" -name __pycache__ -type d -prune -exec rm -rf {} +
find "$out" -name '*.pyc' -delete
printf '%s\n' "# built $(date -u +%FT%TZ) from $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)" > "$out/BUILD"
echo "$out"
