#!/usr/bin/env bash
# Real human speech with transcripts, from a Debian package (not installed, only unpacked):
# pocketsphinx-testdata's LibriVox readers and CMU test speakers → 16 kHz mono WAV + manifest.tsv.
# Usage: bash benchmarks/fetch_real_speech.sh DEST   (needs apt-get update done once, and sox)
set -euo pipefail
DEST=$(mkdir -p "${1:-real_speech}" && cd "${1:-real_speech}" && pwd)
work=$(mktemp -d)
( cd "$work" && apt-get download -q pocketsphinx-testdata >/dev/null 2>&1 && dpkg-deb -x pocketsphinx-testdata_*.deb x )
PS="$work/x/usr/share/pocketsphinx/test/data"
M="$DEST/manifest.tsv"
printf "file\tsource\tspeaker_hint\ttext\n" > "$M"
while read -r line; do
  text=$(echo "$line" | sed -E 's/<s> (.*) <\/s>.*/\1/'); id=$(echo "$line" | sed -E 's/.*\((.*)\)$/\1/')
  sox "$PS/librivox/$id.wav" -r 16000 -c 1 -b 16 "$DEST/librivox_$id.wav"
  printf "librivox_%s.wav\tpocketsphinx-testdata\tlibrivox-reader\t%s\n" "$id" "$text" >> "$M"
done < "$PS/librivox/transcription"
for pair in goforward:"go forward ten meters" something:"go somewhere and do something"; do
  name=${pair%%:*}; text=${pair#*:}
  sox -t raw -r 16000 -e signed -b 16 -c 1 "$PS/$name.raw" "$DEST/ps_$name.wav"
  printf "ps_%s.wav\tpocketsphinx-testdata\tcmu-speaker\t%s\n" "$name" "$text" >> "$M"
done
rm -rf "$work"
echo "$(($(wc -l < "$M") - 1)) recordings in $DEST"
