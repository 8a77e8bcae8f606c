#!/bin/sh
# Install this trayauth folder for the current user, like any desktop app:
#   the app in ~/.local/lib/trayauth, the commands `trayauth` and `trayauth-tray` in ~/.local/bin,
#   the menu entry, icon and AppStream metainfo under ~/.local/share.
#
#   ./install.sh               install (or update) from this folder
#   ./install.sh --uninstall   remove all of that, and the start-at-login entry
#
# PREFIX=/somewhere ./install.sh installs under another prefix (default ~/.local).
# Your accounts and the vault are left alone; the README says how to remove them too.
set -eu

app_id=io.github.trayauth.TrayAuth
prefix=${PREFIX:-$HOME/.local}
data_home=${XDG_DATA_HOME:-$HOME/.local/share}
[ "$prefix" = "$HOME/.local" ] || data_home="$prefix/share"
config_home=${XDG_CONFIG_HOME:-$HOME/.config}
dest="$prefix/lib/trayauth"
bin="$prefix/bin"

refresh_caches() {
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data_home/applications" || true
  command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$data_home/icons/hicolor" 2>/dev/null || true
}

if [ "${1:-}" = "--uninstall" ]; then
  rm -f "$bin/trayauth" "$bin/trayauth-tray" \
    "$data_home/applications/$app_id.desktop" \
    "$data_home/metainfo/$app_id.metainfo.xml" \
    "$data_home/icons/hicolor/scalable/apps/$app_id.svg" \
    "$config_home/autostart/$app_id.desktop"
  rm -rf "$dest"
  refresh_caches
  echo "trayauth removed. Accounts and the vault are still in your config directory; see the README to remove them."
  exit 0
fi

here=$(cd "$(dirname "$0")" && pwd)
case "$dest" in
  *[\"\`\$\\]*) echo "install.sh: the install path must not contain \" \` \$ or \\: $dest" >&2; exit 1 ;;
esac
if [ "$here" != "$dest" ]; then
  mkdir -p "$prefix/lib"
  tmp="$dest.new.$$"
  rm -rf "$tmp"
  cp -a "$here" "$tmp"
  rm -rf "$dest"
  mv "$tmp" "$dest"
fi
mkdir -p "$bin" "$data_home/applications" "$data_home/metainfo" "$data_home/icons/hicolor/scalable/apps"
ln -sf "$dest/trayauth" "$bin/trayauth"
ln -sf "$dest/trayauth-tray" "$bin/trayauth-tray"
# The menu may not see ~/.local/bin on PATH: point the entry at the installed executable.
sed -e "s|^Exec=.*|Exec=\"$dest/trayauth-tray\"|" -e "s|^TryExec=.*|TryExec=$dest/trayauth-tray|" \
  "$dest/share/applications/$app_id.desktop" > "$data_home/applications/$app_id.desktop"
cp "$dest/share/metainfo/$app_id.metainfo.xml" "$data_home/metainfo/"
if [ -f "$dest/share/icons/hicolor/scalable/apps/$app_id.svg" ]; then
  cp "$dest/share/icons/hicolor/scalable/apps/$app_id.svg" "$data_home/icons/hicolor/scalable/apps/"
fi
refresh_caches
echo "trayauth installed in $dest; start it from the menu (TrayAuth) or run: trayauth-tray"
case ":$PATH:" in
  *":$bin:"*) ;;
  *) echo "note: $bin is not on your PATH; add it to use the trayauth command" ;;
esac
