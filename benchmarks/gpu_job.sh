#!/usr/bin/env bash
# The prepared GPU job of issue 14: the comparison suite at the paper's scale (256 px, ngf 64,
# batch 8, bf16) and the paper's 30 epochs on the NWPU-RESISC45 copy, with as many seeds as
# fit, seed by seed, JOBS runs at once on the one GPU (worker processes: at batch 8 a run
# leaves the GPU idle between small kernels). One device call (about 10 min):
#
#   1. rscolor benchmark --seeds $SEEDS --jobs $JOBS, cut at TRAIN_TIMEOUT s (a cut run
#      keeps its last.pt; seeds finish in order, so whole seeds are done first);
#   2. rscolor benchmark --report-only: the tables of the runs that finished (mean and 95%
#      interval over the seeds that did; with one seed, the image bootstrap only);
#   3. $OUT: log.txt, table.md, comparisons.md, curves.png, figure.png, and bench.tar.gz
#      (every small file of the suite folder: tables, CSVs, each run's history.csv,
#      train.log, done.json, eval.json; no checkpoints) - under the 8-file limit.
# THROUGHPUT=1 first measures every method's training images/s (benchmarks/train_throughput.py,
# issue 5, about 160 s; two more files in $OUT).
#
# The suite folder is runs/gpu-bench (ignored by git, kept on a warm machine): a second call
# of the same command continues the cut runs and adds seeds, e.g. with the time left
#   TRAIN_TIMEOUT=$((BUDGET_LEFT_S - 150)) bash benchmarks/gpu_job.sh
#
# Timing seen on one H200 (docs/results.md section 3, 6 epochs, one run at a time): 20 to 33 s
# per method, 147 s for the six, so 30 epochs are about 12 min per seed one run at a time;
# JOBS=6 runs the six methods of a seed together.
#
# Run from the repository root with data/NWPU-RESISC45 (README: Getting the data sets) carried
# (and .whl, if the machine lacks a dependency):
#   bash benchmarks/gpu_job.sh
# CPU dry run of the logic at tiny size (a few minutes):
#   DEVICE=cpu EPOCHS=1 SEEDS=2 JOBS=2 TEST_IMAGES=4 TRAIN_IMAGES=8 VAL_IMAGES=2 \
#   SUITE_ARGS="--max-steps-per-epoch 1 --set data.crop_size=32 --set generator.ngf=4 \
#   --set generator.depth=5 --set discriminator.ndf=4 --set data.num_workers=0 \
#   --set train.threads=1" BENCH=/tmp/gpu-bench-dry OUT=/tmp/gpu-job-dry \
#   DATA=data/NWPU-RESISC45 nice -n 10 bash benchmarks/gpu_job.sh
set -uo pipefail

OUT=${OUT:-$(mktemp -d)}
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
DATA=${DATA:-data/NWPU-RESISC45}
SUITE=${SUITE:-compare}
EPOCHS=${EPOCHS:-30}
SEEDS=${SEEDS:-3}
JOBS=${JOBS:-6}
TEST_IMAGES=${TEST_IMAGES:-140}
VAL_IMAGES=${VAL_IMAGES:-30}
TRAIN_IMAGES=${TRAIN_IMAGES:-}
# Worker processes share 16 cores: few threads and loader workers each (runtime fields:
# they do not change what a run learns, and a resumed run may differ in them).
SUITE_ARGS=${SUITE_ARGS:---set train.threads=2 --set data.num_workers=2}
THROUGHPUT=${THROUGHPUT:-0}  # 1: first the training throughput of every method (issue 5, 160 s)
TP_ARGS=${TP_ARGS:-}
TRAIN_TIMEOUT=${TRAIN_TIMEOUT:-460}
REPORT_TIMEOUT=${REPORT_TIMEOUT:-100}
BENCH=${BENCH:-runs/gpu-bench}

mkdir -p "$OUT"
if compgen -G ".whl/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1
LOG="$OUT/log.txt"

{
  date -u
  nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"
  "$PY" -c "import torch, platform; print('python', platform.python_version(), 'torch', torch.__version__, 'gpu', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none')"
  echo "suite $SUITE, $EPOCHS epochs, seeds $SEEDS, jobs $JOBS, data $DATA, folder $BENCH"
} >"$LOG" 2>&1

if [ "$THROUGHPUT" = 1 ]; then
  for amp in off bf16; do
    echo "== train_throughput --amp $amp" >"$OUT/throughput-$amp.txt"
    # shellcheck disable=SC2086
    timeout 80 "$PY" benchmarks/train_throughput.py --scale paper --device "$DEVICE" \
      --steps 10 --warmup 3 --amp "$amp" $TP_ARGS >>"$OUT/throughput-$amp.txt" 2>&1
  done
fi

# The same settings in both steps (a rerun of a suite folder must match them).
args=(benchmark --suite "$SUITE" --scale paper --data "$DATA" --out "$BENCH" --epochs "$EPOCHS"
  --max-test-images "$TEST_IMAGES" --device "$DEVICE" --set "data.val_max_images=$VAL_IMAGES"
  --seeds "$SEEDS" --jobs "$JOBS" --quiet)
[ -n "$TRAIN_IMAGES" ] && args+=(--max-train-images "$TRAIN_IMAGES")
# shellcheck disable=SC2206
args+=($SUITE_ARGS)

start=$(date +%s)
echo "== train: rscolor ${args[*]}" >>"$LOG"
timeout "$TRAIN_TIMEOUT" "$PY" -m rscolor "${args[@]}" >>"$LOG" 2>&1
echo "train exit $? after $(( $(date +%s) - start )) s" >>"$LOG"

start=$(date +%s)
echo "== report: the finished runs" >>"$LOG"
timeout "$REPORT_TIMEOUT" "$PY" -m rscolor "${args[@]}" --report-only >>"$LOG" 2>&1
echo "report exit $? after $(( $(date +%s) - start )) s" >>"$LOG"

for f in table.md comparisons.md curves.png figure.png; do
  [ -f "$BENCH/$f" ] && cp "$BENCH/$f" "$OUT/$f"
done
if [ -d "$BENCH" ]; then
  (cd "$BENCH" && find . -type f ! -name '*.pt' ! -name '.lock' ! -name 'history.png' -size -4M \
    ! -name figure.png ! -name curves.png -print0 | tar --null -czf "$OUT/bench.tar.gz" --files-from=-)
fi
grep -h "seed\|exit" "$LOG" | tail -25
[ -f "$OUT/table.md" ] && cat "$OUT/table.md"
[ -f "$OUT/comparisons.md" ] && sed -n '/^## /,$p' "$OUT/comparisons.md"
ls -la "$OUT"
