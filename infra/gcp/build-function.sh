#!/usr/bin/env bash
# Assemble the deployable source of one Cloud Functions service in .build/SERVICE (or OUT): main.py, the service's
# wiring package, a vendored copy of the shared `wattline` package (Cloud Functions installs requirements.txt from
# PyPI and cannot see the uv workspace), and requirements.txt. The CLI, the local stack and the simulator are left
# out. Usage: infra/gcp/build-function.sh SERVICE [OUT]  (SERVICE: gcp-loader, gcp-alerts; prints OUT)
set -euo pipefail
service="${1:?usage: build-function.sh SERVICE [OUT]}"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
here="$repo/services/$service"
package="${service//-/_}"
[ -d "$here/$package" ] || { echo "no service $service (expected $here/$package)" >&2; exit 2; }
out="${2:-$repo/.build/$service}"
rm -rf "$out"
mkdir -p "$out"
cp "$here/main.py" "$here/requirements.txt" "$out/"
cp -r "$here/$package" "$out/$package"
cp -r "$repo/shared/wattline" "$out/wattline"
rm -rf "$out/wattline/cli" "$out/wattline/local" "$out/wattline/simulator"
find "$out" -name __pycache__ -type d -prune -exec rm -rf {} +
find "$out" -name '*.pyc' -delete
printf '%s\n' "# built $(date -u +%FT%TZ) from $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)" > "$out/BUILD"
echo "$out"
