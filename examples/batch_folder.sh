#!/usr/bin/env bash
# A folder of clips: every video under clips/ gets a soundtrack in clips_v2a/ (same subfolders).
# Re-running skips the files already done, so an interrupted batch resumes; a bad file is reported
# and skipped, and the exit status is 1 if any file failed. clips_v2a/v2a-manifest.jsonl records
# each file's result. On several GPUs, the same command under accelerate shares the files out:
#   accelerate launch --num_processes 8 -m v2a.cli add-sound clips -o clips_v2a ...
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p clips
cp -n bigbuckbunny.mp4 rendered_*.mp4 clips/ 2>/dev/null || true
cat > clips/prompts.csv <<'CSV'
file,prompt,negative_prompt
bigbuckbunny.mp4,birds chirping in a meadow,music
CSV
v2a add-sound clips -o clips_v2a --prompts-csv clips/prompts.csv --prompt "sound effects" --dry-run
v2a add-sound clips -o clips_v2a --prompts-csv clips/prompts.csv --prompt "sound effects"
