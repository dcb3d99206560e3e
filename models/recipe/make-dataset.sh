#!/usr/bin/env bash
# Builds the training and evaluation audio of Earmark's bundled model from Debian packages.
#
#   models/recipe/make-dataset.sh OUT [STAGE...]
#
# Stages (all by default, in this order): install pool render speech noise labels eval counts.
# Every stage skips the files that already exist, so the script can be re-run after an interruption.
#
# The packages are split by package (models/recipe/sources.tsv lists them with versions and
# licences):
#   heldout : freepats (rendered through timidity) and sonic-pi-samples. Used only for the final
#             figures; nothing is trained or tuned on them.
#   val     : lmms-common (its drum and instrument samples) and the drum samples of chuck-data,
#             exadrums and performous, to choose checkpoints and models.
#   train   : everything else.
# Never used, in any role: hydrogen-drumkits, hydrogen-drumkits-effects, hydrogen-data,
# fluid-soundfont-gm, fluid-soundfont-gs, timgm6mb-soundfont, wesnoth-1.16-music, hyperrogue-music,
# nexuiz-music, warzone2100-music, drascula-music, asc-music, singularity-music,
# planetblupi-music-ogg (they are kept for evaluation outside the project).
#
# OUT/train/pkg/<name>   links to the audio folders of the train packages (the unlabelled pool for
#                        self-supervised pretraining); OpenArena's sounds are extracted from its pk3
#                        archives, Tux Paint's stamp sounds are linked file by file.
# OUT/train/renders      notes, phrases, drum hits, drum loops and short pieces rendered from MIDI
#                        written by make_notes.py, with fluidsynth: the OPL3 soundfont
#                        (opl3-soundfont), csound's GM bank (csound-soundfont), the AVL drum kits
#                        Black Pearl and Red Zeppelin (avldrums.lv2-soundfont, drums only), and,
#                        for the optional refine stage of train-bundled.sh, GeneralUser GS
#                        (minuet-data) and A320U (denemo-data, instruments only); and, for the
#                        optional renderers stage, the OPL3, csound and AVL banks once more with
#                        timidity (the banks alone, new seeds; train/renders/timidity-*).
# OUT/train/speech       sentences spoken by espeak-ng (several languages and voices) and flite.
# OUT/train/renders/sox-noise  white, pink and brown noise, some filtered, made with sox.
# OUT/val/renders        csound GM bank notes with another seed (a small instrument set for
#                        validation; the bank's other renders are trained on, so a weaker check).
# OUT/heldout/renders    the same kinds of notes and hits rendered by timidity with freepats.
# MuseScore_General (musescore-general-soundfont) is not used by default: it is a fork of
# FluidR3Mono and most of its instruments still play FluidR3 samples, which are reserved.
# EARMARK_DATA_MUSESCORE=1 renders it anyway (OUT/train/renders/musescore).
# OUT/labels.tsv         path, label, package, split: one row per labelled file, the label taken from
#                        the MIDI program or drum note of a render, or from the sample's own folder
#                        and file name (label_files.py; files whose names say nothing stay unlabelled).
# OUT/eval/<set>/<label> hard links for `earmark eval --folders`.
# OUT/counts.txt         files per label, split and package.
set -euo pipefail
out=${1:?usage: make-dataset.sh OUT [STAGE...]}
shift
stages=${*:-install pool render speech noise labels eval counts}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
NICE="nice -n 10"

packages="opl3-soundfont csound-soundfont avldrums.lv2-soundfont minuet-data denemo-data freepats timidity fluidsynth lmms-common
  chuck-data exadrums performous
  sonic-pi-samples espeak-ng flite scratch sound-theme-freedesktop yaru-theme-sound oxygen-sounds
  openarena-data tuxpaint-data hedgewars-data neverball-data extremetuxracer-data
  frozen-bubble-data pingus-data supertuxkart-data tuxpaint-stamps-default sox unzip"
[ "${EARMARK_DATA_MUSESCORE:-0}" = 1 ] && packages="$packages musescore-general-soundfont"
PY="python3 -W ignore::DeprecationWarning"

stage_install() {
  local missing
  missing=$(for p in $packages; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
  if [ -n "$missing" ]; then
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    # --no-install-recommends keeps fluid-soundfont-gm (a recommend of fluidsynth) out.
    $sudo apt-get install -y --no-install-recommends $missing
  fi
}

# The unlabelled pool: links to the audio folders of the train packages.
stage_pool() {
  local pool="$out/train/pkg"
  mkdir -p "$pool" "$out/train/renders" "$out/train/speech"
  link() { [ -d "$2" ] && ln -sfn "$2" "$pool/$1"; return 0; }
  link supertuxkart-sfx /usr/share/games/supertuxkart/data/sfx
  link supertuxkart-music /usr/share/games/supertuxkart/data/music
  link hedgewars-sounds /usr/share/games/hedgewars/Data/Sounds
  link hedgewars-music /usr/share/games/hedgewars/Data/Music
  link neverball-sounds /usr/share/games/neverball/snd
  link neverball-music /usr/share/games/neverball/bgm
  link etr-sounds /usr/share/games/etr/sounds
  link etr-music /usr/share/games/etr/music
  link frozen-bubble /usr/share/games/frozen-bubble/snd
  link pingus /usr/share/games/pingus/data/sounds
  link tuxpaint /usr/share/tuxpaint/sounds
  link scratch /usr/share/scratch/Media/Sounds
  link freedesktop /usr/share/sounds/freedesktop/stereo
  link yaru /usr/share/sounds/Yaru/stereo
  # Oxygen's sounds lie loose in /usr/share/sounds (beside other packages' files): file links.
  mkdir -p "$pool/oxygen"
  dpkg -L oxygen-sounds | grep -E '^/usr/share/sounds/Oxygen-.*\.ogg$' | while read -r f; do
    ln -sfn "$f" "$pool/oxygen/$(basename "$f")"
  done
  # Tux Paint stamps: every stamp sound (animals, vehicles, ...) and the spoken stamp names, at
  # most 40 per language so that these short words do not swamp the pool.
  mkdir -p "$pool/tuxpaint-stamps"
  dpkg -L tuxpaint-stamps-default 2>/dev/null | grep -E '\.(ogg|wav)$' | python3 -c '
import collections, os, sys
per_lang = collections.defaultdict(list)
for line in sys.stdin:
    f = line.strip()
    base = os.path.basename(f)
    if "_desc" not in base:
        print(f)
    else:
        lang = base.rsplit("_desc", 1)[1][:-4].lstrip("_") or "en"
        per_lang[lang].append(f)
for lang, files in sorted(per_lang.items()):
    files.sort()
    step = max(1, len(files) // 40)
    for f in files[::step][:40]:
        print(f)
' | while read -r f; do
    rel=${f#/usr/share/tuxpaint/stamps/}
    ln -sfn "$f" "$pool/tuxpaint-stamps/${rel//\//__}"
  done
  # OpenArena keeps its sounds and music inside pk3 (zip) archives: extract those entries.
  local oa="$pool/openarena"
  if [ ! -e "$oa/.done" ]; then
    mkdir -p "$oa"
    for pk3 in /usr/share/games/openarena/baseoa/*.pk3 /usr/share/games/openarena/missionpack/*.pk3; do
      [ -f "$pk3" ] || continue
      local dest
      dest="$oa/$(basename "$(dirname "$pk3")")-$(basename "$pk3" .pk3)"
      mkdir -p "$dest"
      unzip -qqon "$pk3" '*.wav' '*.ogg' '*.WAV' '*.OGG' -d "$dest" 2>/dev/null || true
    done
    touch "$oa/.done"
  fi
}

stage_render() {
  # timidity always reads /etc/timidity/timidity.cfg before -c, and Debian's sources the FluidR3
  # patches when fluid-soundfont-gm is installed: refuse rather than mix reserved sounds in.
  local p
  for p in fluid-soundfont-gm fluid-soundfont-gs timgm6mb-soundfont; do
    if dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
      echo "make-dataset: $p is installed; timidity could play its sounds. Remove it first." >&2
      exit 1
    fi
  done
  mkdir -p "$out/midi"
  $PY "$here/make_notes.py" "$out"
  # Each batch is one long MIDI file of segments (see make_notes.py); rendered once, then cut.
  local batch
  for batch in "$out"/midi/*.mid; do
    local name wav
    name=$(basename "$batch" .mid)
    [ -e "$out/midi/$name.cut" ] && continue
    wav="$out/midi/$name.wav"
    local sf synth=fluidsynth
    case "$name" in
      tim*) synth=timidity ;;
    esac
    sf=$($PY "$here/make_notes.py" --soundfont "$name")
    if [ "$synth" = timidity ] && [ -n "$sf" ]; then
      # The bank alone: timidity's own config sources no patches here (checked above).
      $NICE timidity -x "soundfont $sf" -idq -Ow -s 22050 -o "$wav" "$batch" >/dev/null 2>&1
    elif [ -n "$sf" ]; then
      $NICE fluidsynth -ni -q -g 0.6 -r 22050 -R 1 -C 1 -F "$wav" "$sf" "$batch" >/dev/null 2>&1
    else
      $NICE timidity -c /etc/timidity/freepats.cfg -idq -Ow -s 22050 -o "$wav" "$batch" \
        >/dev/null 2>&1
    fi
    $NICE $PY "$here/cut_segments.py" "$out/midi/$name.tsv" "$wav" && touch "$out/midi/$name.cut"
    rm -f "$wav"
  done
}

stage_speech() {
  $PY "$here/make_speech.py" "$out/train/speech"
}

stage_noise() {
  $PY "$here/make_noise.py" "$out/train/renders/sox-noise"
}

stage_labels() {
  $PY "$here/label_files.py" "$out"
}

stage_eval() {
  $PY "$here/make_eval.py" "$out"
}

stage_counts() {
  $PY "$here/count_labels.py" "$out/labels.tsv" > "$out/counts.txt"
  cat "$out/counts.txt"
}

for s in $stages; do
  echo "== $s"
  "stage_$s"
done
