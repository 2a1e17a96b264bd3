#!/usr/bin/env bash
# Trains a new autoencoder, a transformer on its latent space (warm-started from the shipped
# one) and the autoencoder's adversarial decoder, in a fixed wall-clock budget on one GPU.
# With AUTOENCODER set it trains the transformer alone, on that existing latent, for the whole budget;
# with VOCODER_TEACHER (a HiFi-GAN folder) it distils a light vocoder from it alone, on the mels of a
# feature cache (`carry_features.py pack --mel-only` carries them; the teacher renders them there).
#
#   BUDGET=520 OUT=/tmp/out bash scripts/train_on_gpu.sh FEATURES_PACK_OR_FOLDER
#   AUTOENCODER=runs/v6/patches/model DIT_INIT=runs/v6r/dit/model DIT_LR=3e-4 \
#       DIT_ARGS="--reference-tokens 8 --sigma-shift 5 --still-silence 0.15" BUDGET=480 OUT=/tmp/out \
#       bash scripts/train_on_gpu.sh FEATURES_PACK_OR_FOLDER
#   VOCODER_TEACHER=weights/vocoder PRECISION=no VOC_ARGS="--lr 5e-4" BUDGET=480 OUT=/tmp/out \
#       bash scripts/train_on_gpu.sh MEL_PACK_OR_FOLDER
#
# FEATURES: a feature cache (`v2a train features`) or a pack of one (scripts/carry_features.py).
# Each phase first runs CALIB steps (its lr warm-up), measures its steps per second from the
# run's log, then resumes the same run to as many steps as fit its share of the budget: the
# warm-up ends exactly where the resume starts, so the schedule is that of one run of the final
# length. The step counts reached are printed; the printed commands with those --steps are the
# same recipe without the budget logic (not bit for bit: a resumed run draws its crops from a
# new seed, and cuDNN picks its kernels by timing). Results ($OUT/NAME.tar: the model as a
# float32 folder and the run's log; split in parts over 15 MB) are written under $OUT.
set -euo pipefail

SOURCE=${1:?feature cache folder or pack}
OUT=${OUT:-runs/gpu}
RUNS=${RUNS:-runs/gpu-runs}
BUDGET=${BUDGET:-520}     # seconds for the whole script
CALIB=${CALIB:-200}
AE_BATCH=${AE_BATCH:-128}
DIT_BATCH=${DIT_BATCH:-128}
GAN_BATCH=${GAN_BATCH:-64}
PRECISION=${PRECISION:-bf16}
AUTOENCODER=${AUTOENCODER:-}   # an existing latent: train the transformer alone
DIT_INIT=${DIT_INIT:-weights/transformer}
DIT_LR=${DIT_LR:-6e-4}
DIT_ARGS=${DIT_ARGS:-}         # more `v2a train transformer` options (word-split)
VOCODER_TEACHER=${VOCODER_TEACHER:-}  # a HiFi-GAN folder: distil a light vocoder from it alone
VOC_BATCH=${VOC_BATCH:-64}
VOC_ARGS=${VOC_ARGS:-}         # more `v2a train vocoder` options (word-split)
START=$(date +%s)
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}  # run from the repository root: v2a need not be installed there
mkdir -p "$OUT" "$RUNS"

# weights travel xz-compressed (the device tool carries 64 MiB): unpack any model.safetensors.xz
for folder in "$DIT_INIT" "$VOCODER_TEACHER"; do
    for packed in "$folder"/*.safetensors.xz; do
        [ -e "$packed" ] || continue
        python3 -c "import lzma, sys; open(sys.argv[1][:-3], 'wb').write(lzma.decompress(open(sys.argv[1], 'rb').read()))" "$packed"
    done
done

FEATURES=$SOURCE
if [ -f "$SOURCE" ]; then
    FEATURES=$RUNS/features
    python3 scripts/carry_features.py unpack --pack "$SOURCE" --out "$FEATURES"
fi

# steps RUN END: steps the run reaches by END seconds after START, at the rate its log shows
steps() {
    python3 - "$1/log.jsonl" "$2" "$START" "$CALIB" <<'EOF'
import json, sys, time
log, end, start, calib = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
rows = [r for r in map(json.loads, open(log)) if "seconds" in r]
first, last = (rows[0], rows[-1]) if len(rows) > 1 else ({"step": 0, "seconds": 0.0}, rows[-1])
rate = (last["step"] - first["step"]) / max(1e-6, last["seconds"] - first["seconds"])
left = end - (time.time() - start) - 25  # start-up of the resumed command and its final save
print(max(calib + 50, int(calib + rate * left) // 50 * 50))
print(f"{log}: {rate:.1f} steps/s, {left:.0f} s left -> resume to the step above", file=sys.stderr)
EOF
}

# phase NAME END ARGS...: calibration run, then the resumed run, then the model copied to OUT
phase() {
    local name=$1 end=$2; shift 2
    local run=$RUNS/$name
    if [ -e "$run" ]; then  # its log and checkpoints would spoil the calibration
        echo "train_on_gpu.sh: $run exists; give a fresh RUNS folder" >&2
        exit 1
    fi
    python3 -m v2a.cli train "$@" --run "$run" --steps "$CALIB" --warmup "$CALIB" --checkpoint-every "$CALIB" \
        --validate-every 100000 --mixed-precision "$PRECISION" --no-audio-samples --quiet
    local total
    total=$(steps "$run" "$end")
    echo "== $name: $* --steps $total --warmup $CALIB --mixed-precision $PRECISION"
    python3 -m v2a.cli train "$@" --run "$run" --steps "$total" --warmup "$CALIB" --checkpoint-every 1000 \
        --validate-every 1000 --mixed-precision "$PRECISION" --no-audio-samples --quiet
    grep val_ "$run/log.jsonl" | tail -3 || true  # none without a validation split
    tar cf "$OUT/$name.tar" -C "$run" model log.jsonl
    if [ "$(stat -c %s "$OUT/$name.tar")" -gt 15000000 ]; then  # the device tool returns files up to 16 MiB
        split -b 15000000 "$OUT/$name.tar" "$OUT/$name.tar.part-" && rm "$OUT/$name.tar"
    fi
    echo "== $name done at $(( $(date +%s) - START )) s"
}

if [ -n "$VOCODER_TEACHER" ]; then  # its teacher renders every clip at each start: give it a smaller BUDGET
    # shellcheck disable=SC2086
    phase vocoder "$BUDGET" vocoder --features "$FEATURES" --size light --teacher "$VOCODER_TEACHER" \
        --batch-size "$VOC_BATCH" $VOC_ARGS
    exit 0
fi
if [ -n "$AUTOENCODER" ]; then
    # shellcheck disable=SC2086
    phase dit "$BUDGET" transformer --features "$FEATURES" --autoencoder "$AUTOENCODER" --init "$DIT_INIT" \
        --batch-size "$DIT_BATCH" --lr "$DIT_LR" $DIT_ARGS
    exit 0
fi
AE_END=$(( BUDGET * 30 / 100 ))
DIT_END=$(( BUDGET * 80 / 100 ))
phase ae "$AE_END" autoencoder --features "$FEATURES" --hidden 192 --blocks 2 --latent-channels 32 \
    --batch-size "$AE_BATCH" --lr 1e-3
# shellcheck disable=SC2086
phase dit "$DIT_END" transformer --features "$FEATURES" --autoencoder "$RUNS/ae/model" --init "$DIT_INIT" \
    --batch-size "$DIT_BATCH" --lr "$DIT_LR" $DIT_ARGS
phase gan "$BUDGET" autoencoder --features "$FEATURES" --init "$RUNS/ae/model" --decoder-only --adversarial 4 \
    --batch-size "$GAN_BATCH" --lr 3e-4
