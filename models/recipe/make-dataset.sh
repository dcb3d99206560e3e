#!/usr/bin/env bash
# Builds the training and evaluation audio of Earmark's bundled model from Debian packages.
#
#   models/recipe/make-dataset.sh OUT
#
# OUT/train   : links to the game soundtracks and effects of the packages below, instrument
#               phrases rendered with fluidsynth and the FluidR3 GM soundfont, speech from espeak-ng.
# OUT/eval    : labelled folders (subfolder = label) made from the same sources with other seeds,
#               never trained on: nine instrument families and speech.
# OUT/eval-samples : real recordings never trained on, the sample pack of sonic-pi-samples
#               (freesound.org uploads, CC0, and MIT), in nine folders by the pack's own prefixes:
#               ambi, bass, bd, drum, elec, glitch, loop, perc, tabla.
set -euo pipefail
out=${1:?usage: make-dataset.sh OUT}
here=$(cd "$(dirname "$0")" && pwd)
packages="wesnoth-1.16-music frozen-bubble-data hedgewars-data neverball-data pingus-data
  warzone2100-music extremetuxracer-data sound-theme-freedesktop fluid-soundfont-gm fluidsynth espeak-ng
  sonic-pi-samples"
missing=$(for p in $packages; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get install -y --no-install-recommends $missing
fi
sf=/usr/share/sounds/sf2/FluidR3_GM.sf2
mkdir -p "$out/train/packages" "$out/train/instruments" "$out/train/speech" "$out/eval"

for d in /usr/share/games/wesnoth /usr/share/games/frozen-bubble /usr/share/games/hedgewars \
         /usr/share/games/neverball /usr/share/games/pingus /usr/share/games/warzone2100 \
         /usr/share/games/etr /usr/share/sounds/freedesktop; do
  [ -d "$d" ] && ln -sfn "$d" "$out/train/packages/$(basename "$d")"
done

render() { # midi-dir wav-dir
  find "$1" -name '*.mid' | while read -r mid; do
    rel=${mid#"$1"/}; wav="$2/${rel%.mid}.wav"
    mkdir -p "$(dirname "$wav")"
    [ -s "$wav" ] || fluidsynth -ni -g 0.8 -r 22050 -F "$wav" "$sf" "$mid" >/dev/null 2>&1
  done
}
python3 "$here/make_midi.py" "$out/midi/train" 1 16
python3 "$here/make_midi.py" "$out/midi/eval" 2 12
render "$out/midi/train" "$out/train/instruments"
render "$out/midi/eval" "$out/eval"

speak() { # seed count dir
  local voices=(en en-us en-gb-x-rp de fr es it pt nl sv pl el)
  python3 - "$1" "$2" <<'PY' | while IFS=$'\t' read -r n voice pitch speed text; do
import random, sys
rng = random.Random(int(sys.argv[1]))
words = ("the a sound river quiet morning signal window garden music light small over under "
         "between people listen record every little number morning distance evening bright "
         "machine voice paper yellow winter summer station forward silver later table open").split()
voices = ["en", "en-us", "en-gb-x-rp", "de", "fr", "es", "it", "pt", "nl", "sv", "pl", "el"]
for n in range(int(sys.argv[2])):
    text = " ".join(rng.choice(words) for _ in range(rng.randint(12, 24)))
    print(f"{n}\t{rng.choice(voices)}+{rng.choice(['m1','m3','f1','f3','f4'])}\t{rng.randint(30,70)}\t{rng.randint(130,190)}\t{text}")
PY
    f="$3/speech-$1-$n.wav"
    [ -s "$f" ] || espeak-ng -v "$voice" -p "$pitch" -s "$speed" -w "$f" "$text"
  done
}
speak 1 60 "$out/train/speech"
mkdir -p "$out/eval/speech"
speak 2 12 "$out/eval/speech"
for class in ambi bass bd drum elec glitch loop perc tabla; do
  mkdir -p "$out/eval-samples/$class"
  cp /usr/share/sonic-pi/samples/"$class"_*.flac "$out/eval-samples/$class/"
done
echo "train: $(find -L "$out/train" -type f | wc -l) files; eval: $(find "$out/eval" -type f | wc -l)" \
     "+ $(find "$out/eval-samples" -type f | wc -l) files"
