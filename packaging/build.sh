#!/usr/bin/env bash
# Builds Earmark's packages from a release build:
#   target/debian/earmark_VERSION_ARCH.deb      with cargo-deb (installed here when missing)
#   target/appimage/Earmark.AppDir              the AppImage's tree (AppRun, desktop entry, icon, usr/)
#   target/appimage/Earmark-x86_64.AppImage     the AppDir as SquashFS (zstd) after the start-up
#                                               program of packaging/appimage-runtime (or the
#                                               type-2 runtime file APPIMAGE_RUNTIME names)
# Usage: packaging/build.sh [all|deb|appimage]   (default: all)
# Honours CARGO_TARGET_DIR. Needs the packages of `packaging/install-deps.sh test`.
set -euo pipefail
cd "$(dirname "$0")/.."

what="${1:-all}"
case "$what" in all|deb|appimage) ;; *) echo "usage: $0 [all|deb|appimage]" >&2; exit 2 ;; esac

cargo_deb_version=3.8.0
target_dir="${CARGO_TARGET_DIR:-target}"
bin="$target_dir/release/earmark"
generated="$target_dir/release/packaging"

step() { echo "== $* ($(date -u +%H:%M:%S))"; }

if [ "$what" != appimage ] && ! cargo deb --version >/dev/null 2>&1; then
  step "installing cargo-deb $cargo_deb_version"
  cargo install cargo-deb --locked --version "$cargo_deb_version"
fi

step "release build"
cargo build --release

step "manual pages, shell completions, documents"
rm -rf "$generated"
"$bin" generate man "$generated/man" >/dev/null
gzip -9n "$generated"/man/*.1
for shell in bash zsh fish; do
  "$bin" generate completions "$shell" "$generated/completions" >/dev/null
done
# The README and, where present, the default model's card (models/*.md).
mkdir -p "$generated/doc"
install -m 644 README.md "$generated/doc/"
for card in models/*.md; do
  [ -e "$card" ] && install -m 644 "$card" "$generated/doc/"
done

if [ "$what" != appimage ]; then
  step ".deb"
  cargo deb --no-build
  ls -l "$target_dir"/debian/earmark_*.deb
fi

[ "$what" = deb ] && exit 0

step "AppDir"
appimage_dir="$target_dir/appimage"
appdir="$appimage_dir/Earmark.AppDir"
rm -rf "$appdir"
mkdir -p "$appdir/usr/bin" "$appdir/usr/lib" "$appdir/usr/share/applications" \
         "$appdir/usr/share/doc/earmark"
install -s -m 755 "$bin" "$appdir/usr/bin/earmark"  # stripped, as in the .deb
install -m 755 packaging/AppRun "$appdir/AppRun"
install -m 644 packaging/earmark.desktop "$appdir/earmark.desktop"
install -m 644 packaging/earmark.desktop "$appdir/usr/share/applications/earmark.desktop"
install -m 644 assets/earmark-256.png "$appdir/earmark.png"
ln -s earmark.png "$appdir/.DirIcon"
for size in 64 128 256; do
  install -D -m 644 "assets/earmark-$size.png" \
    "$appdir/usr/share/icons/hicolor/${size}x${size}/apps/earmark.png"
done
install -D -m 644 assets/earmark.svg "$appdir/usr/share/icons/hicolor/scalable/apps/earmark.svg"
install -m 644 "$generated"/doc/* "$appdir/usr/share/doc/earmark/"
# Libraries the binary links that a desktop may lack. glibc, ALSA (its plugins live on the host)
# and the graphics stack (loaded at run time from the host's drivers) stay the host's.
for lib in libopus.so.0; do
  path="$(ldd "$bin" | awk -v lib="$lib" '$1 == lib { print $3 }')"
  [ -n "$path" ] && install -m 644 "$path" "$appdir/usr/lib/$lib"
done
echo "$appdir"

# The AppImage's start-up program: packaging/appimage-runtime (Rust, crates.io only), unless
# APPIMAGE_RUNTIME names another type-2 runtime file (the AppImage project's, for one).
runtime="${APPIMAGE_RUNTIME:-}"
if [ -z "$runtime" ]; then
  step "AppImage runtime"
  cargo build --release --locked --manifest-path packaging/appimage-runtime/Cargo.toml \
    --target-dir "$target_dir"
  runtime="$appimage_dir/runtime-x86_64"
  install -m 755 "$target_dir/release/earmark-appimage-runtime" "$runtime"
  # The type-2 magic, "AI" and 2, at offset 8 of the ELF header (bytes loaders ignore).
  printf 'AI\002' | dd of="$runtime" bs=1 seek=8 conv=notrunc status=none
fi
step "AppImage"
squashfs="$appimage_dir/Earmark.squashfs"
image="$appimage_dir/Earmark-x86_64.AppImage"
mksquashfs "$appdir" "$squashfs" -root-owned -noappend -comp zstd -quiet
cat "$runtime" "$squashfs" > "$image"
chmod 755 "$image"
rm -f "$squashfs"
# The runtime must find the image exactly where it was appended.
[ "$("$image" --appimage-offset)" = "$(stat -c %s "$runtime")" ] \
  || { echo "build.sh: the AppImage runtime does not find its image" >&2; exit 1; }
ls -l "$image"
