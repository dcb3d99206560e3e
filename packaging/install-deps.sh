#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Earmark needs, once; a second run does nothing.
#   install-deps.sh build   what building and running the app needs
#   install-deps.sh test    that, plus what the test suite uses (media encoders, X server, sound server)
#                           and the packages and their checks (mksquashfs, desktop-file-validate,
#                           dpkg-shlibdeps, screenshots)
set -euo pipefail

mode="${1:-build}"
build_pkgs=(make pkg-config libasound2-dev libopus-dev)
test_pkgs=(ffmpeg sox xvfb xauth mesa-vulkan-drivers libvulkan1 libegl1 libgl1-mesa-dri
           pulseaudio pulseaudio-utils libasound2-plugins
           desktop-file-utils dpkg-dev imagemagick x11-utils squashfs-tools xdotool)

pkgs=("${build_pkgs[@]}")
if [ "$mode" = "test" ]; then
  pkgs+=("${test_pkgs[@]}")
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "Earmark needs these packages (no apt-get here; install them your way): ${missing[*]}" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "Installing system packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
