#!/usr/bin/env bash
# The model card's tables (docs/model-card.md): every model on AID test (2,000), the NWPU
# test split (280), UC Merced airplanes (97, never trained on) and SIRI-WHU (599, never
# trained on), at --scale auto, JSON per model and set (the gray and mean_chroma rows come
# with each). Two evaluations at a time, one thread each.
#   bash scripts/model_card_eval.sh docs/results/model-card \
#       shipped=src/rscolor/weights/default.pt previous=runs/previous-default.pt ...
set -euo pipefail
OUT=$1; shift
DATA=${DATA:-data}
mkdir -p "$OUT"
declare -A SETS=(
  [aid-test]="$DATA/AID --split test"
  [nwpu-test]="$DATA/NWPU-RESISC45 --split test"
  [ucm-all]="$DATA/UCMerced_LandUse --split all"
  [siri-all]="$DATA/SIRI-WHU --split all"
)
jobs=()
for pair in "$@"; do
  for set in aid-test nwpu-test ucm-all siri-all; do jobs+=("${pair%%=*}|${pair#*=}|$set"); done
done
for job in "${jobs[@]}"; do
  IFS='|' read -r name model set <<< "$job"
  dst="$OUT/$name-$set.json"
  [ -f "$dst" ] && continue
  while [ "$(jobs -rp | wc -l)" -ge "${PARALLEL:-2}" ]; do sleep 3; done
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=1 rscolor evaluate --checkpoint "$model" --data ${SETS[$set]} \
    --scale auto --out "$dst" --device cpu > "$OUT/$name-$set.log" 2>&1 &
done
wait
