#!/usr/bin/env bash
# Build the one-folder app dist/hmi-station/ and its Linux tarball from a clean clone:
#   installer/build.sh        (about a minute or two; not part of the test run)
# It makes its own venv (build/installer-venv) from pyproject.toml plus PyInstaller, so the
# build does not depend on the developer's environment, with the exact versions pinned in
# installer/constraints.txt, so two builds of one commit carry the same libraries. Then run
# installer/smoke.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
venv=build/installer-venv
started=$(date +%s)
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -c installer/constraints.txt . "pyinstaller>=6.10,<7"
rm -rf build/pyinstaller dist/hmi-station
(cd installer && "../$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --workpath ../build/pyinstaller --distpath ../dist hmi-station.spec)

version=$(dist/hmi-station/hmi --version | head -1 | cut -d' ' -f2)
name="hmi-station-$version-linux-$(uname -m)"
stage="build/$name"
rm -rf "$stage" && mkdir -p "$stage"
cp -a dist/hmi-station "$stage/hmi-station"
cp -a installer/linux "$stage/linux"
cp installer/linux/install.sh "$stage/install.sh"
cp -a resources/icons "$stage/icons"
[ -d docs ] && cp -a docs "$stage/docs"
cp README.md "$stage/README.md"
tar -C build -czf "dist/$name.tar.gz" "$name"
echo "built dist/hmi-station ($(du -sh dist/hmi-station | cut -f1)) and dist/$name.tar.gz" \
     "($(du -sh "dist/$name.tar.gz" | cut -f1)) in $(( $(date +%s) - started )) s"
