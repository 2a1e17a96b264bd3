#!/usr/bin/env bash
# A folder of clips: every video under clips/ gets a soundtrack in clips_v2a/ (same subfolders).
# Re-running skips outputs that exist, so an interrupted batch resumes; a bad file is reported
# and skipped, and the exit status is 1 if any file failed.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p clips
cp -n bigbuckbunny.mp4 rendered_*.mp4 clips/ 2>/dev/null || true
cat > clips/prompts.csv <<'CSV'
file,prompt,negative_prompt
bigbuckbunny.mp4,birds chirping in a meadow,music
CSV
v2a add-sound clips -o clips_v2a --prompts-csv clips/prompts.csv --prompt "sound effects"
