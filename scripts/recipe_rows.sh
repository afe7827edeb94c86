#!/usr/bin/env bash
# The recipe table of docs/results.md (issue 11): each row adds one lever to the row
# above, every row at one small fixed budget (2 epochs x 75 steps x batch 16 = 2,400 crops,
# about 35% of an AID+NWPU epoch), 2 seeds, scored on validation only
# (scripts/score_recipe.py). Two runs at a time, one thread each, on a 2-core machine.
#   bash scripts/recipe_rows.sh runs/recipe        # ROWS_ORDER="g-chroma-weight" for one row; then: python scripts/score_recipe.py runs/recipe
set -euo pipefail
OUT=${1:-runs/recipe}
SEEDS=${SEEDS:-"0 1"}
RSCOLOR=${RSCOLOR:-rscolor}
AID=${AID:-data/AID}
BOTH=${BOTH:-data/aid-nwpu}
# The warm-up and ramp are a quarter of the budget each, as in the 4-epoch shipped run.
BUDGET="--set train.epochs=2 --set train.max_steps_per_epoch=75 --set data.val_max_images=60 \
  --set train.threads=1 --set train.checkpoint_every_steps=null \
  --set loss.adv_warmup_epochs=0.5 --set loss.adv_ramp_epochs=0.5"
ENC="--set generator.encoder=efficientnet_lite0"
PREV="--set data.rescale=null --set generator.head=tanh --set discriminator.spectral_norm=false \
  --set loss.gan_weight=1.0"
declare -A ROWS=(
  [a-previous]="--data $AID $PREV --set loss.adv_warmup_epochs=0 --set loss.adv_ramp_epochs=0"
  [b-warmup]="--data $AID $PREV --set loss.gan_weight=0.3"
  [c-sn-bounded]="--data $AID --set data.rescale=null"
  [d-rescale]="--data $AID"
  [e-aid-nwpu]="--data $BOTH"
  [f-l1-only]="--data $BOTH --set loss.gan_weight=0"
  [g-chroma-weight]="--data $BOTH --set loss.chroma_weight=1"
  [h-ciede]="--data $BOTH --set loss.l1_weight=0 --set loss.ciede_weight=1"
  [i-l1-ciede]="--data $BOTH --set loss.ciede_weight=1"
  [j-chroma-weight-2]="--data $BOTH --set loss.chroma_weight=2"
  [k-chroma-weight-4]="--data $BOTH --set loss.chroma_weight=4"
  [l-ciede-chroma-weight]="--data $BOTH --set loss.l1_weight=0 --set loss.ciede_weight=1 --set loss.chroma_weight=1"
  [m-bins]="--data $BOTH --set generator.head=bins --set loss.l1_weight=0 --set loss.bins_weight=1 --set loss.chroma_weight=1"
  # Issue 21: row g with an EfficientNet-Lite0 encoder (macro stream unless named).
  [n-encoder-random]="--data $BOTH --set loss.chroma_weight=1 $ENC --set generator.encoder_pretrained=false"
  [o-encoder]="--data $BOTH --set loss.chroma_weight=1 $ENC"
  [o-encoder-micro]="--data $BOTH --set loss.chroma_weight=1 $ENC --set generator.encoder_stream=micro"
  [o-encoder-both]="--data $BOTH --set loss.chroma_weight=1 $ENC --set generator.encoder_stream=both"
  [p-encoder-frozen]="--data $BOTH --set loss.chroma_weight=1 $ENC --set train.freeze_encoder_epochs=0.5"
  [q-encoder-class]="--data $BOTH --set loss.chroma_weight=1 $ENC --set loss.class_weight=1"
)
ORDER=${ROWS_ORDER:-"a-previous b-warmup c-sn-bounded d-rescale e-aid-nwpu f-l1-only g-chroma-weight h-ciede i-l1-ciede j-chroma-weight-2 k-chroma-weight-4 l-ciede-chroma-weight m-bins \
  n-encoder-random o-encoder o-encoder-micro o-encoder-both p-encoder-frozen q-encoder-class"}
jobs=()
for row in $ORDER; do
  for seed in $SEEDS; do
    jobs+=("$row|$seed")
  done
done
run_one() {
  local row=${1%%|*} seed=${1##*|}
  local dir="$OUT/$row-s$seed"
  [ -f "$dir/done" ] && return 0
  # shellcheck disable=SC2086
  $RSCOLOR train --config configs/recipe/cpu.yaml $BUDGET ${ROWS[$row]} --set train.seed="$seed" \
    --out "$dir" --resume --quiet > "$OUT/$row-s$seed.log" 2>&1 && touch "$dir/done"
}
mkdir -p "$OUT"
for job in "${jobs[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do sleep 5; done
  run_one "$job" &
done
wait
