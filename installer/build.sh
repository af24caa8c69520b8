#!/usr/bin/env bash
# Build the one-folder app dist/hmi-station/ from a clean clone, in its own venv:
#   installer/build.sh            (a few minutes; not part of the test run)
# Then installer/smoke.sh runs the frozen executable with no Python on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
venv=build/installer-venv
started=$(date +%s)
python3 -m venv "$venv"
"$venv/bin/pip" install -q -e . "pyinstaller>=6.10,<7"
rm -rf build/pyinstaller dist/hmi-station
(cd installer && "../$venv/bin/pyinstaller" --noconfirm --clean \
    --workpath ../build/pyinstaller --distpath ../dist hmi-station.spec)
echo "built dist/hmi-station in $(( $(date +%s) - started )) s, $(du -sh dist/hmi-station | cut -f1)"
