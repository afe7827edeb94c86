#!/usr/bin/env bash
# The one prepared GPU job (device tool, about 8 minutes on one H100/H200):
#   1. training throughput of every method at the paper's settings (256 px, ngf 64,
#      batch 8), AMP off and bf16 (benchmarks/train_throughput.py)        -> issue 5
#   2. the comparison suite at the paper's scale on NWPU-RESISC45 (2 classes), with the
#      epochs cut to $EPOCHS so it fits the lease; its jsdcgan run (bf16, channels_last)
#      is also the short paper-scale training run                          -> issues 3, 5
# Run from the repository root with data/NWPU-RESISC45 and .whl carried:
#   bash benchmarks/gpu_job.sh
# CPU dry run of the logic (tiny sizes):
#   DEVICE=cpu EPOCHS=1 TEST_IMAGES=3 STEPS=1 WARMUP=0 TP_ARGS="--size 32 --ngf 4 --depth 5 --batch 2" \
#   SUITE_ARGS="--max-steps-per-epoch 1 --set data.crop_size=32 --set generator.ngf=4 \
#   --set generator.depth=5 --set discriminator.ndf=4 --set data.num_workers=0" \
#   DATA=../shared/data/NWPU-RESISC45 bash benchmarks/gpu_job.sh
set -uo pipefail

OUT=${OUT:-$(mktemp -d)}
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
DATA=${DATA:-data/NWPU-RESISC45}
EPOCHS=${EPOCHS:-3}
TEST_IMAGES=${TEST_IMAGES:-140}
VAL_IMAGES=${VAL_IMAGES:-30}
STEPS=${STEPS:-10}
WARMUP=${WARMUP:-3}
TP_ARGS=${TP_ARGS:-}
SUITE_ARGS=${SUITE_ARGS:-}
TP_TIMEOUT=${TP_TIMEOUT:-80}
SUITE_TIMEOUT=${SUITE_TIMEOUT:-360}
BENCH=${BENCH:-$(mktemp -d)/bench}

mkdir -p "$OUT"
if compgen -G ".whl/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1
LOG="$OUT/throughput.txt"

{
  date -u
  nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"
  "$PY" -c "import torch, platform; print('python', platform.python_version(), 'torch', torch.__version__, 'gpu', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none')"
} >"$LOG" 2>&1

for amp in off bf16; do
  echo "== train_throughput --amp $amp" >>"$LOG"
  # shellcheck disable=SC2086
  timeout "$TP_TIMEOUT" "$PY" benchmarks/train_throughput.py --scale paper --device "$DEVICE" \
    --steps "$STEPS" --warmup "$WARMUP" --amp "$amp" $TP_ARGS >>"$LOG" 2>&1
  echo "exit $?" >>"$LOG"
done
cat "$LOG"

start=$(date +%s)
# shellcheck disable=SC2086
timeout "$SUITE_TIMEOUT" "$PY" -m rscolor benchmark --suite compare --scale paper --data "$DATA" \
  --out "$BENCH" --epochs "$EPOCHS" --max-test-images "$TEST_IMAGES" --device "$DEVICE" \
  --set "data.val_max_images=$VAL_IMAGES" --quiet $SUITE_ARGS >"$OUT/compare.txt" 2>&1
echo "benchmark exit $? after $(( $(date +%s) - start )) s" >>"$OUT/compare.txt"
tail -40 "$OUT/compare.txt"

for f in table.md table.csv per_class.md figure.png; do
  [ -f "$BENCH/$f" ] && cp "$BENCH/$f" "$OUT/$f"
done
run=$(find "$BENCH/runs" -maxdepth 1 -type d -name 'jsdcgan*' | head -1)
if [ -n "$run" ]; then
  [ -f "$run/history.csv" ] && cp "$run/history.csv" "$OUT/jsdcgan-history.csv"
  [ -f "$run/train.log" ] && cp "$run/train.log" "$OUT/jsdcgan-train.log"
fi
ls -la "$OUT"
