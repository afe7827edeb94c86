#!/usr/bin/env bash
# Train issue 11's model (the shipped model 2026-12-01 to 2026-12-07; today's is made by
# configs/shipped/issue21-encoder-cpu.yaml, configs/README.md) and the two baselines
# (L1-only U-Net, PatchGAN; the same budget as stage 1) on AID + NWPU-RESISC45, then
# calibrate each one's saturation on validation images (`rscolor calibrate`). The model
# has three stages:
#   1. configs/recipe/cpu.yaml, 3 epochs (best: epoch 2)                  -> RUNS/ship
#   2. configs/shipped/issue11-stage2-finetune-cpu.yaml, 1 epoch from 1   -> RUNS/ship-long
#   3. configs/shipped/issue11-stage3-chroma-cpu.yaml, 2 epochs from 2,
#      the chroma-weighted L1 (best: epoch 1)                             -> RUNS/ship-chroma
# On a 2-core machine the model trains on one core while the baselines train one after the
# other on the other (one thread each: faster in total than two threads each, one run at a
# time).
#   python scripts/combine_datasets.py data/aid-nwpu data/AID data/NWPU-RESISC45
#   bash scripts/ship_model.sh runs
set -euo pipefail
RUNS=${1:-runs}
DATA=${DATA:-data/aid-nwpu}
ONE="--set train.threads=1"
GAINS="1,1.1,1.2,1.3,1.4,1.5,1.6"

calibrate() {  # RUN: the gain sweep on 600 val images (docs/model-card.md: the rule)
  OMP_NUM_THREADS=1 rscolor calibrate --checkpoint "$1/best.pt" --device cpu --quiet \
    --data "$DATA" --split val --limit 600 --gains "$GAINS" --max-chromas 32,28 \
    --out "$1/calibration.json" --force > "$1/calibration.log" 2>&1
}
train() {  # CONFIG RUN [extra options]
  local config=$1 run=$2; shift 2
  rscolor train --config "$config" --data "$DATA" --out "$run" --resume --quiet $ONE "$@" \
    > "$run.log" 2>&1
}
mkdir -p "$RUNS"
( train configs/recipe/cpu.yaml "$RUNS/ship" && calibrate "$RUNS/ship" \
  && train configs/shipped/issue11-stage2-finetune-cpu.yaml "$RUNS/ship-long" \
    --set train.init_from="$RUNS/ship/best.pt" \
  && train configs/shipped/issue11-stage3-chroma-cpu.yaml "$RUNS/ship-chroma" \
    --set train.init_from="$RUNS/ship-long/best.pt" && calibrate "$RUNS/ship-chroma" ) &
main=$!
sleep 60  # let the first run write its split.json
( train configs/recipe/unet-cpu.yaml "$RUNS/ship-unet" --split-manifest "$RUNS/ship/split.json" \
    && calibrate "$RUNS/ship-unet" \
  && train configs/recipe/patchgan-cpu.yaml "$RUNS/ship-patchgan" \
    --split-manifest "$RUNS/ship/split.json" && calibrate "$RUNS/ship-patchgan" ) &
wait $main
wait
