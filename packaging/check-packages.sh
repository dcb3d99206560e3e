#!/usr/bin/env bash
# Checks what packaging/build.sh made, the way a user meets it:
#   deb       unpacks the .deb into a temporary root (dpkg -x) and runs the installed earmark from
#             there (--version, info on a fixture); validates the desktop entry; lists the man pages,
#             completions and icons it ships
#   appimage  checks the AppImage's layout (type-2 magic, SquashFS after the program) and runs
#             `--version` through it, then starts it under Xvfb, waits for the "Earmark" window and
#             checks a screenshot of it is not blank
# Usage: packaging/check-packages.sh [all|deb|appimage]   (default: all). Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

what="${1:-all}"
target_dir="${CARGO_TARGET_DIR:-target}"
fixture=tests/fixtures/matpac/sig_1p3s.wav
fail() { echo "check-packages: $*" >&2; exit 1; }
root=""  # the temporary install root of the .deb
trap '[ -z "$root" ] || rm -rf "$root"' EXIT

check_deb() {
  local deb
  deb="$(ls -t "$target_dir"/debian/earmark_*.deb 2>/dev/null | head -n 1)"
  [ -n "$deb" ] || fail "no .deb under $target_dir/debian (run packaging/build.sh deb)"
  root="$(mktemp -d)"
  echo "== $deb ($(du -k "$deb" | cut -f1) KiB)"
  dpkg-deb --field "$deb" Package Version Architecture Depends Recommends
  dpkg -x "$deb" "$root"

  local version
  version="$("$root/usr/bin/earmark" --version)"
  echo "$ earmark --version"; echo "$version"
  [[ "$version" =~ ^earmark\ [0-9]+\.[0-9]+\.[0-9]+\ \(features:\ .+\;\ devices:\ .*cpu.*\)$ ]] \
    || fail "unexpected version line: $version"

  echo "$ earmark info $fixture"
  local info
  info="$("$root/usr/bin/earmark" info "$fixture")"
  echo "$info"
  grep -q "sig_1p3s.wav" <<<"$info" || fail "earmark info did not describe $fixture"

  desktop-file-validate "$root/usr/share/applications/earmark.desktop"
  echo "desktop entry valid"

  local expected=(
    usr/share/man/man1/earmark.1.gz usr/share/man/man1/earmark-info.1.gz
    usr/share/bash-completion/completions/earmark usr/share/zsh/vendor-completions/_earmark
    usr/share/fish/vendor_completions.d/earmark.fish
    usr/share/icons/hicolor/scalable/apps/earmark.svg
    usr/share/icons/hicolor/256x256/apps/earmark.png usr/share/doc/earmark/README.md
  )
  for path in "${expected[@]}"; do
    [ -s "$root/$path" ] || fail "the .deb lacks $path"
  done
  # The manual page must be readable roff naming the program.
  zcat "$root/usr/share/man/man1/earmark.1.gz" | grep -q '^\.TH earmark' \
    || fail "earmark.1 is not a manual page"
  echo "ships $(ls "$root/usr/share/man/man1" | wc -l) manual pages, completions for bash/zsh/fish, icons"
}

check_appimage() {
  local image="$target_dir/appimage/Earmark-x86_64.AppImage" launcher
  [ -x "$image" ] || fail "no AppImage (run packaging/build.sh appimage)"
  launcher="$image"
  echo "== $image ($(du -k "$image" | cut -f1) KiB)"
  # Type 2: "AI" and 2 at offset 8, an ELF program, then the SquashFS image ("hsqs").
  [ "$(head -c 11 "$image" | tail -c 3 | od -An -c | tr -d ' ')" = 'AI002' ] \
    || fail "the AppImage lacks the type-2 magic"
  local offset
  offset="$("$image" --appimage-offset)"
  [ "$(tail -c +$((offset + 1)) "$image" | head -c 4)" = hsqs ] \
    || fail "no SquashFS image at offset $offset"
  echo "SquashFS image at byte $offset"
  local cache
  cache="$(mktemp -d)"
  echo "$ Earmark-x86_64.AppImage --version"
  XDG_CACHE_HOME="$cache" "$image" --version | tee "$cache/version"
  grep -q '^earmark [0-9]' "$cache/version" || fail "the AppImage did not run earmark"
  rm -rf "$cache"
  echo "== $launcher under Xvfb"
  local shot="$target_dir/appimage/window.png" xvfb_pid app_pid runtime_dir display=""
  runtime_dir="$(mktemp -d)"
  chmod 700 "$runtime_dir"
  # Xvfb picks a free display number and writes it to fd 3.
  : >"$runtime_dir/display"
  # -noreset: the readiness probe below is the last client; a reset could refuse the window.
  Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp -noreset 3>"$runtime_dir/display" >/dev/null 2>&1 &
  xvfb_pid=$!
  for _ in $(seq 1 100); do
    display="$(cat "$runtime_dir/display")"
    [ -n "$display" ] && break
    sleep 0.1
  done
  [ -n "$display" ] || fail "Xvfb did not start"
  display=":$display"
  # Launch only once the server answers.
  for _ in $(seq 1 100); do
    DISPLAY="$display" xwininfo -root >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo "Xvfb on $display"
  DISPLAY="$display" XDG_RUNTIME_DIR="$runtime_dir" HOME="$runtime_dir" "$launcher" \
    >"$runtime_dir/app.log" 2>&1 &
  app_pid=$!
  local found=""
  for _ in $(seq 1 120); do
    if DISPLAY="$display" xwininfo -root -tree 2>/dev/null | grep -q '"Earmark"'; then
      found=yes
      break
    fi
    kill -0 "$app_pid" 2>/dev/null || break
    sleep 0.5
  done
  if [ -n "$found" ]; then
    sleep 3  # let the first frames draw
    DISPLAY="$display" import -window root "$shot"
  fi
  kill "$app_pid" 2>/dev/null || true
  wait "$app_pid" 2>/dev/null || true
  kill "$xvfb_pid" 2>/dev/null || true
  wait "$xvfb_pid" 2>/dev/null || true
  if [ -z "$found" ]; then
    cat "$runtime_dir/app.log" >&2
    rm -rf "$runtime_dir"
    fail "the Earmark window did not appear"
  fi
  rm -rf "$runtime_dir"
  # A blank screen is one colour; the window's text and panels give many.
  local colours
  colours="$(convert "$shot" -format %k info:)"
  echo "window shown; screenshot $shot has $colours colours"
  [ "$colours" -ge 16 ] || fail "the screenshot is blank ($colours colours)"
}

case "$what" in
  all) check_deb; check_appimage ;;
  deb) check_deb ;;
  appimage) check_appimage ;;
  *) echo "usage: $0 [all|deb|appimage]" >&2; exit 2 ;;
esac
