#!/usr/bin/env bash
# One clip from a terminal: writes examples/bigbuckbunny.v2a.mp4 (the original audio is replaced).
set -euo pipefail
cd "$(dirname "$0")"
v2a add-sound bigbuckbunny.mp4 --prompt "birds chirping in a meadow" --negative-prompt "music, speech" --overwrite
# The audio alone:
v2a add-sound bigbuckbunny.mp4 -o bigbuckbunny.wav --prompt "birds chirping in a meadow" --overwrite
