#!/usr/bin/env bash
# Build the deployment zip of one AWS service: <service>/.build/bundle.zip, referenced by its serverless.yml
# (`package.artifact`).
#
# Serverless Framework only packages files inside the service directory and shared/wattline lives outside it,
# so this script assembles the Lambda code itself, all at the zip root (Lambda puts /var/task on sys.path): the
# service's handler package, the shared `wattline` sources without the CLI, the local runtime, the simulator and the
# dashboard, and the third-party packages the service runs with, exactly as uv.lock pins them (infra/bundle.py).
#   bash infra/aws/build-bundle.sh services/aws-aggregator            # full: downloads Lambda wheels with uv
#   bash infra/aws/build-bundle.sh services/aws-aggregator --offline  # sources only → .build/offline-bundle.zip
# The full build exports the service's locked runtime dependencies (`uv export --frozen`, with hashes, minus the
# service's `[tool.wattline.bundle] prune` list: the CLI's typer and rich, ...) into .build/requirements.txt and
# installs exactly those with `--no-deps`, as manylinux_2_28 x86_64 wheels (the python3.12 runtime is Amazon Linux
# 2023, glibc 2.34; numpy 2.5 ships no older manylinux wheels) for Python 3.12
# whatever the local Python. No version is resolved at build time: a stale uv.lock fails the build.
# The zip is deterministic (sorted entries, fixed timestamps): an unchanged build gives an identical zip, so
# `serverless deploy` skips unchanged code.
#
# Environment (optional):
#   BUNDLE_PYTHON_VERSION=3.12   the Python the wheels are resolved for; `local` = the version of `python3` here
#                                (to import and run the bundle on this machine: tests/integration/aws/test_bundle.py).
#                                Deploy only bundles built for the Lambda runtime's version (the default).
#   BUNDLE_BUILD_DIR=DIR         build into DIR instead of SERVICE_DIR/.build (DIR/bundle/ and DIR/bundle.zip).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SERVICE="${1:?usage: build-bundle.sh SERVICE_DIR [--offline]}"
MODE="${2:-full}"
SERVICE_DIR="$(cd "$SERVICE" && pwd)"
BUILD="${BUNDLE_BUILD_DIR:-$SERVICE_DIR/.build}"
PYTHON_VERSION="${BUNDLE_PYTHON_VERSION:-3.12}"
if [ "$PYTHON_VERSION" = "local" ]; then
  PYTHON_VERSION="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
fi
NAME="bundle"
# The offline (sources-only) zip never replaces a deployable one: it is .build/offline-bundle.zip, used only by
# the checks through --param="artifact=.build/offline-bundle.zip".
[ "$MODE" = "--offline" ] && NAME="offline-bundle"
STAGE="$BUILD/$NAME"
PACKAGE="$(basename "$SERVICE_DIR" | tr '-' '_')"

rm -rf "$STAGE" "$BUILD/$NAME.zip"
mkdir -p "$STAGE"

if [ "$MODE" != "--offline" ]; then
  # The offline (sources-only) bundle is enough for `serverless package` and template checks, not for running.
  UV="$(command -v uv || echo "$ROOT/.tools/uv/bin/uv")"
  python3 "$ROOT/infra/bundle.py" requirements "$SERVICE_DIR" "$BUILD/requirements.txt"
  "$UV" pip install --quiet --target "$STAGE" --no-deps --require-hashes \
    --python-platform x86_64-manylinux_2_28 --python-version "$PYTHON_VERSION" --only-binary :all: \
    -r "$BUILD/requirements.txt"
  # Test suites shipped inside wheels (numpy's: about 7 MB) are never imported at run time.
  find "$STAGE" -mindepth 2 -type d -name tests -prune -exec rm -rf {} +
fi
python3 "$ROOT/infra/bundle.py" wattline "$STAGE"
cp -R "$SERVICE_DIR/$PACKAGE" "$STAGE/$PACKAGE"
rm -rf "$STAGE/.lock" "$STAGE/bin" "$STAGE"/*.dist-info/uv_cache.json  # uv bookkeeping, console scripts
if compgen -G "$STAGE/*.dist-info/RECORD" >/dev/null; then sed -i "/uv_cache.json/d" "$STAGE"/*.dist-info/RECORD; fi

python3 - "$STAGE" "$BUILD/$NAME.zip" <<'PY'
import os, sys, zipfile
stage, target = sys.argv[1], sys.argv[2]
entries = []
for folder, dirs, files in os.walk(stage):
    dirs[:] = sorted(d for d in dirs if d != "__pycache__")
    entries += [os.path.join(folder, name) for name in files if not name.endswith((".pyc", ".pyo"))]
with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bundle:
    for path in sorted(entries):
        info = zipfile.ZipInfo(os.path.relpath(path, stage), date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(path, "rb") as handle:
            bundle.writestr(info, handle.read())
print(f"bundle ready: {target} ({os.path.getsize(target) / 1e6:.1f} MB, {len(entries)} files)")
PY
