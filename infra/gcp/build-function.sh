#!/usr/bin/env bash
# Assemble the deployable source of one Cloud Functions service in .build/SERVICE ($BUILD_ROOT/SERVICE when
# BUILD_ROOT is set, or OUT): main.py, the service's wiring package, a vendored copy of the shared `wattline` package
# (Cloud Functions installs requirements.txt from PyPI and cannot see the uv workspace), and requirements.txt. The
# CLI, the local stack and the simulator are left out.
# Usage: infra/gcp/build-function.sh [--dry-run] SERVICE [OUT]  (SERVICE: gcp-loader, gcp-alerts; prints OUT)
# --dry-run (or DRY_RUN=1 from a calling script) prints the commands instead of running them and writes nothing.
set -euo pipefail
args=()
for arg in "$@"; do
  if [[ "$arg" == --dry-run ]]; then DRY_RUN=1; else args+=("$arg"); fi
done
set -- "${args[@]}"
source "$(dirname "$0")/run.sh"
service="${1:?usage: build-function.sh [--dry-run] SERVICE [OUT]}"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
here="$repo/services/$service"
package="${service//-/_}"
[ -d "$here/$package" ] || { echo "no service $service (expected $here/$package)" >&2; exit 2; }
out="${2:-${BUILD_ROOT:-$repo/.build}/$service}"
run rm -rf "$out"
run mkdir -p "$out"
run cp "$here/main.py" "$here/requirements.txt" "$out/"
run cp -r "$here/$package" "$out/$package"
run cp -r "$repo/shared/wattline" "$out/wattline"
run rm -rf "$out/wattline/cli" "$out/wattline/local" "$out/wattline/simulator"
run find "$out" -name __pycache__ -type d -prune -exec rm -rf {} +
run find "$out" -name '*.pyc' -delete
stamp="# built $(date -u +%FT%TZ) from $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ "$DRY_RUN" == 1 ]]; then
  note "$out/BUILD: $stamp"
else
  printf '%s\n' "$stamp" >"$out/BUILD"
  echo "$out"
fi
