#!/bin/sh
# Peak memory of analysing one long file: `earmark scan` (CPU windows), `earmark scan --full`
# (every chunk encoded: the default on a GPU) and `earmark embed` (unpooled rows streamed to
# disk, and the default pooled vector). Analysis streams, so the figures should not grow with
# the file's length, except for what is kept per file (one ~1 s segment vector, 384 values,
# per second of audio: 57 MB as f32 for 10 hours).
#
# Usage: packaging/measure-long-file.sh [HOURS] [EARMARK BINARY] [STEP]
#   HOURS   length of the generated file (default 10)
#   BINARY  default target/release/earmark (a debug build works, about 2× slower)
#   STEP    all (default), scan, full, embed or embed-rows: run one measurement only
# Needs sox (generating the file: 16 kHz mono 16-bit, 1.15 GB for 10 hours) and GNU time.
# The file is kept in ${EARMARK_MEASURE_DIR:-/tmp/earmark-long-file} between runs.
set -eu
hours=${1:-10}
bin=${2:-target/release/earmark}
step=${3:-all}
model=models/earmark-default.safetensors
dir=${EARMARK_MEASURE_DIR:-/tmp/earmark-long-file}
secs=$((hours * 3600))
mkdir -p "$dir/audio-$hours"
wav="$dir/audio-$hours/long.wav"
if [ ! -f "$wav" ]; then
    echo "generating $hours h of audio in $wav"
    # A slow sweep with noise: every chunk differs.
    sox -n -r 16000 -c 1 -b 16 "$wav" synth "$secs" sine 100:4000 synth pinknoise mix vol 0.5
fi

measure() {
    label=$1
    shift
    if ! /usr/bin/time -f '%M %e' -o "$dir/time" "$@" >"$dir/out" 2>"$dir/err"; then
        cat "$dir/err"
        exit 1
    fi
    read -r kb secs_taken <"$dir/time"
    printf '%-34s peak RSS %5d MiB  %7.1f s\n' "$label" $((kb / 1024)) "$secs_taken"
}

rm -f "$dir"/lib-*.sqlite*
case $step in all | scan)
    measure "scan ($hours h, CPU windows)" "$bin" scan -q --library "$dir/lib-w.sqlite" \
        --model "$model" "$dir/audio-$hours" ;;
esac
case $step in all | full)
    measure "scan --full ($hours h)" "$bin" scan -q --full --library "$dir/lib-f.sqlite" \
        --model "$model" "$dir/audio-$hours" ;;
esac
case $step in all | embed)
    measure "embed ($hours h, pooled)" "$bin" embed "$wav" --model "$model" \
        --out "$dir/pooled.safetensors" ;;
esac
case $step in all | embed-rows)
    measure "embed --no-pool ($hours h, to disk)" "$bin" embed "$wav" --no-pool \
        --model "$model" --out "$dir/rows.safetensors"
    echo "  output: $(du -h "$dir/rows.safetensors" | cut -f1)" ;;
esac
rm -f "$dir"/lib-*.sqlite* "$dir/rows.safetensors"
