#!/usr/bin/env bash
# Everything the model card needs to judge a trained run against the shipped model, in one
# folder (the decision itself is the rule's; replacing default.pt is left to you):
#   1. rscolor calibrate of RUN/best.pt on 600 val images (the model card's gains and cap);
#   2. scripts/ship_decision.py: the rule over its rows and the shipped model's recorded
#      calibration of the same images (SHIPPED_CAL);
#   3. rscolor export of RUN/best.pt at its chosen saturation and cap -> OUT/candidate.pt;
#   4. its val chroma correlation (scripts/chroma_correlation.py, 300 images, gain 1);
#   5. its learning curve (scripts/learning_curve.py);
#   6. scripts/model_card_eval.sh on the four sets, the shipped model's rows copied from
#      its recorded evaluation (SHIPPED_EVAL_PREFIX) when they exist, then the tables;
#   7. the model card's figure (candidate, shipped);
#   8. the 4096 px scene benchmark, candidate and shipped in the same run (torch, ONNX).
# Each step whose output exists is skipped, so a cut run continues. About 1.5 h on 2 cores.
# A dry run at tiny size: a tiny run and a tree of AID, NWPU-RESISC45, aid-nwpu, UC Merced
# and SIRI-WHU images with the figure's file names, CLASSES its class names, LIMIT=6,
# SPEED_SIZE=256.
#   python scripts/combine_datasets.py data/aid-nwpu data/AID data/NWPU-RESISC45
#   bash scripts/ship_candidate.sh runs/encoder-30 runs/candidate-encoder-30
set -euo pipefail
RUN=$1
OUT=$2
DATA=${DATA:-data}
COMBINED=${COMBINED:-$DATA/aid-nwpu}
SHIPPED=${SHIPPED:-src/rscolor/weights/default.pt}
SHIPPED_CAL=${SHIPPED_CAL:-docs/results/encoder-long/calibration-val.json}
SHIPPED_EVAL_PREFIX=${SHIPPED_EVAL_PREFIX:-docs/results/model-card/encoder}
GAINS=${GAINS:-0.6,0.7,0.8,0.9,1,1.1,1.2,1.3}
LIMIT=${LIMIT:-600}
CLASSES=${CLASSES:-Beach Farmland Forest Pond DenseResidential airport airplane}  # the figure's
SPEED_SIZE=${SPEED_SIZE:-4096}
PY=${PYTHON:-python}
mkdir -p "$OUT"
step() { echo "$(date -u +%T) $*" | tee -a "$OUT/steps.log"; }

step "1. calibrate $RUN/best.pt"
[ -f "$OUT/calibration-val.json" ] || rscolor calibrate --checkpoint "$RUN/best.pt" \
  --data "$COMBINED" --limit "$LIMIT" --gains "$GAINS" --max-chromas 32 --quiet \
  --out "$OUT/calibration-val.json" > "$OUT/calibration-val.txt"

step "2. the rule over the candidate's and the shipped model's rows"
"$PY" scripts/ship_decision.py --candidate "$OUT/calibration-val.json" \
  --shipped "$SHIPPED_CAL" | tee "$OUT/decision.txt"

step "3. export at the candidate's own choice"
export_args=$("$PY" benchmarks/gpu_ship_plan.py export-args "$OUT/calibration-val.json")
# shellcheck disable=SC2086
[ -f "$OUT/candidate.pt" ] || rscolor export --checkpoint "$RUN/best.pt" --format torch-fp16 \
  $export_args -o "$OUT/candidate.pt"
rscolor info "$OUT/candidate.pt" > "$OUT/candidate-info.txt"

step "4. val chroma correlation"
[ -f "$OUT/chroma-correlation-val.txt" ] || "$PY" scripts/chroma_correlation.py \
  --checkpoint "$RUN/best.pt" --data "$COMBINED" --limit 300 > "$OUT/chroma-correlation-val.txt"

step "5. learning curve"
"$PY" scripts/learning_curve.py "$RUN" --out "$OUT/learning-curve.png" --table "$OUT/curve.md"

step "6. the four evaluation sets"
for set in aid-test nwpu-test ucm-all siri-all; do
  recorded="$SHIPPED_EVAL_PREFIX-$set.json"
  [ -f "$OUT/shipped-$set.json" ] || [ ! -f "$recorded" ] || cp "$recorded" "$OUT/shipped-$set.json"
done
DATA=$DATA bash scripts/model_card_eval.sh "$OUT" candidate="$OUT/candidate.pt" shipped="$SHIPPED"
"$PY" scripts/model_card_tables.py "$OUT" candidate shipped > "$OUT/tables.md"

step "7. the figure"
# shellcheck disable=SC2086
[ -f "$OUT/outputs.jpg" ] || "$PY" scripts/model_card_figure.py --data "$COMBINED" \
  --split "$RUN/split.json" --model "candidate=$OUT/candidate.pt" --model "shipped=$SHIPPED" \
  --classes $CLASSES \
  --extra "$DATA/SIRI-WHU/residential/0001.tif" --extra "$DATA/SIRI-WHU/agriculture/0002.tif" \
  --extra "$DATA/SIRI-WHU/river/0001.tif" --extra "$DATA/UCMerced_LandUse/airplane/airplane00.tif" \
  --out "$OUT/outputs.jpg"

step "8. speed, both models in this run"
for name in candidate shipped; do
  model="$OUT/candidate.pt"; [ "$name" = shipped ] && model=$SHIPPED
  [ -f "$OUT/speed-$name.json" ] || "$PY" benchmarks/colorize_scene.py --data "$DATA/AID" \
    --checkpoint "$model" --sizes "$SPEED_SIZE" --backends torch onnx --threads 2 \
    --json "$OUT/speed-$name.json" > "$OUT/speed-$name.txt"
done
step "done: $OUT/decision.txt, tables.md, outputs.jpg, speed-*.json"
