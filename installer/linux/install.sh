#!/bin/sh
# Install hmi-station from the unpacked tarball.
#   ./install.sh               per user: ~/.local/opt/hmi-station, ~/.local/bin/hmi, menu entry
#   sudo ./install.sh --system system-wide: /opt/hmi-station, /usr/local/bin/hmi, menu entry
#   sudo ./install.sh --system --service
#                              also the headless service (user `hmi`, data /var/lib/hmi-station)
#   ./install.sh --uninstall [--system]   remove the program (never the data)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
mode=user service=no action=install
for arg in "$@"; do
    case "$arg" in
        --system) mode=system ;;
        --user) mode=user ;;
        --service) service=yes ;;
        --uninstall) action=uninstall ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done
if [ "$mode" = system ]; then
    [ "$(id -u)" = 0 ] || { echo "install.sh: --system needs root (sudo)" >&2; exit 2; }
    appdir=/opt/hmi-station bindir=/usr/local/bin
    share=/usr/share
else
    [ "$service" = no ] || { echo "install.sh: --service needs --system" >&2; exit 2; }
    appdir="$HOME/.local/opt/hmi-station" bindir="$HOME/.local/bin"
    share="$HOME/.local/share"
fi

if [ "$action" = uninstall ]; then
    if [ "$mode" = system ] && [ -f /etc/systemd/system/hmi-station.service ]; then
        systemctl disable --now hmi-station.service 2>/dev/null || true
        rm -f /etc/systemd/system/hmi-station.service
        systemctl daemon-reload 2>/dev/null || true
    fi
    rm -rf "$appdir"
    rm -f "$bindir/hmi" "$bindir/hmi-station-gui" "$share/applications/hmi-station.desktop"
    rm -f "$share/icons/hicolor/256x256/apps/hmi-station.png" \
          "$share/icons/hicolor/scalable/apps/hmi-station.svg"
    echo "removed hmi-station from $appdir (data and project files are kept)"
    exit 0
fi

[ -x "$here/hmi-station/hmi" ] || { echo "install.sh: $here/hmi-station/hmi not found" >&2; exit 2; }
rm -rf "$appdir.new"
mkdir -p "$(dirname "$appdir")" "$bindir" "$share/applications" \
         "$share/icons/hicolor/256x256/apps" "$share/icons/hicolor/scalable/apps"
cp -a "$here/hmi-station" "$appdir.new"
[ -d "$here/docs" ] && cp -a "$here/docs" "$appdir.new/docs"
rm -rf "$appdir" && mv "$appdir.new" "$appdir"
ln -sf "$appdir/hmi" "$bindir/hmi"
sed "s|@APPDIR@|$appdir|g" "$here/linux/hmi-station-gui" > "$bindir/hmi-station-gui"
chmod 755 "$bindir/hmi-station-gui"
sed "s|@BINDIR@|$bindir|g" "$here/linux/hmi-station.desktop" \
    > "$share/applications/hmi-station.desktop"
cp "$here/icons/hmi-station-256.png" "$share/icons/hicolor/256x256/apps/hmi-station.png"
cp "$here/icons/hmi-station.svg" "$share/icons/hicolor/scalable/apps/hmi-station.svg"
command -v update-desktop-database >/dev/null 2>&1 && \
    update-desktop-database "$share/applications" 2>/dev/null || true
echo "installed $("$appdir/hmi" --version | head -1) in $appdir; command: $bindir/hmi"

if [ "$service" = yes ]; then
    id hmi >/dev/null 2>&1 || useradd --system --home-dir /var/lib/hmi-station \
        --shell /usr/sbin/nologin hmi
    mkdir -p /etc/hmi-station
    if [ ! -f /etc/hmi-station/project.toml ]; then
        cp "$appdir/_internal/resources/demo/project.toml" /etc/hmi-station/project.toml
        echo "no project yet: /etc/hmi-station/project.toml is the demo; edit it, then" \
             "'hmi check /etc/hmi-station/project.toml'"
    fi
    sed "s|@APPDIR@|$appdir|g" "$here/linux/hmi-station.service" \
        > /etc/systemd/system/hmi-station.service
    systemctl daemon-reload 2>/dev/null || true
    echo "service installed: systemctl enable --now hmi-station; journalctl -u hmi-station"
    echo "first admin: sudo -u hmi env HMI_DATA_DIR=/var/lib/hmi-station" \
         "HMI_AUDIT_KEY_DIR=/var/lib/hmi-station-audit $bindir/hmi users add NAME --role admin"
fi
