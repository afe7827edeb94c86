#!/usr/bin/env bash
# The prepared GPU job for the shipped colorizer: the shipped model's recipe as one long run
# on one H200 (configs/recipe/gpu.yaml: batch 64, bf16, the chroma-weighted L1 from the
# start), its saturation calibrated on validation, and the model exported. One device call
# of about 9 min (the per-command limit is 10):
#
#   1. a 15 s throughput probe (benchmarks/train_throughput.py, random tensors) and
#      benchmarks/gpu_ship_plan.py epochs: how many epochs fit in TRAIN_S (EPOCHS=auto;
#      skipped on a resumed run, whose last.pt fixes its schedule);
#   2. rscolor train --resume on the packed copy with its split (the same train / val
#      assignment as data/aid-nwpu; no test image is in it), cut at TRAIN_TIMEOUT s;
#   3. rscolor calibrate on CAL_LIMIT val images (the rule of the model card);
#   4. rscolor export --format torch-fp16 of best.pt with the chosen saturation and chroma cap;
#   5. $OUT (8 files at most come back): log.txt, model.pt (about 11 MiB), calibration.json,
#      calibration.txt, history.csv, train.log, config.yaml, probe.json.
#
# The run folder is RUN (runs/ship-gpu, ignored by git, kept on a warm machine): if training
# was cut, the same command again continues it (--resume) and calibrates and exports anew.
#
# Make, in the checkout the device tool sends (its working tree travels, 64 MiB in all: the
# tracked files are 19.4 MiB), the data (37.0 MiB: train 6,840 + val 600 images, JPEG 4:2:0
# at luma 45 / chroma 95, scripts/pack_training_data.py's docstring) and the wheels of
# pydantic, which the GPU machine lacks (2.8 MiB; the versions of requirements/lock.txt):
#   python scripts/combine_datasets.py data/aid-nwpu data/AID data/NWPU-RESISC45
#   python scripts/pack_training_data.py data/aid-nwpu data/packed-aid-nwpu --val-limit 600
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl pydantic==2.14.4 pydantic_core==2.50.5 annotated-types==0.8.0 \
#     typing-inspection==0.4.5 typing_extensions==4.16.0
# Device tool call (59 MiB in all):
#   carry: ["data/packed-aid-nwpu", ".whl"]
#   command: bash benchmarks/gpu_ship_job.sh    (timeout_s 600; it takes about 9.5 min)
# With less device time left, shorten training, e.g. TRAIN_S=240 TRAIN_TIMEOUT=270.
#
# CPU dry run of the whole job at tiny size (under a minute on 2 cores; rasterio hidden, as on
# the GPU machine, which has none):
#   INSTALL_WHEELS=0 NO_RASTERIO=1 DEVICE=cpu AMP=off EPOCHS=auto EPOCHS_MIN=1 EPOCHS_MAX=1 TRAIN_S=90 \
#   PROBE_ARGS="--size 32 --ngf 4 --depth 3 --batch 2 --steps 1 --warmup 1" \
#   TRAIN_ARGS="--set generator.ngf=4 --set generator.depth=3 --set discriminator.ndf=4 \
#   --set train.batch_size=4 --set train.max_steps_per_epoch=2 --set data.crop_size=32 \
#   --set data.max_train_images=64 --set data.val_max_images=4 --set data.num_workers=1 \
#   --set train.threads=1 --set train.channels_last=false" CAL_LIMIT=6 \
#   PYTHON=.venv/bin/python RUN=/tmp/ship-dry/run OUT=/tmp/ship-dry/out nice -n 5 bash benchmarks/gpu_ship_job.sh
set -uo pipefail

OUT=${OUT:-$(mktemp -d)}
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
AMP=${AMP:-bf16}
DATA=${DATA:-data/packed-aid-nwpu}
CONFIG=${CONFIG:-configs/recipe/gpu.yaml}
RUN=${RUN:-runs/ship-gpu}
EPOCHS=${EPOCHS:-auto}        # auto: from the probe; or a number
TRAIN_S=${TRAIN_S:-390}       # the training time the epochs are fitted to
TRAIN_TIMEOUT=${TRAIN_TIMEOUT:-420}  # the hard cut (a cut run keeps last.pt and best.pt)
EPOCHS_MIN=${EPOCHS_MIN:-4}
EPOCHS_MAX=${EPOCHS_MAX:-200}
PROBE_ARGS=${PROBE_ARGS:---channels-last}  # as the config trains
TRAIN_ARGS=${TRAIN_ARGS:-}
CAL_LIMIT=${CAL_LIMIT:-600}
GAINS=${GAINS:-1,1.1,1.2,1.3,1.4}
CAL_TIMEOUT=${CAL_TIMEOUT:-100}
NO_RASTERIO=${NO_RASTERIO:-0}  # 1: hide an installed rasterio (a CPU dry run)
INSTALL_WHEELS=${INSTALL_WHEELS:-1}  # 0: not the cp312 wheels of .whl (a dry run elsewhere)

mkdir -p "$OUT" "$RUN"
if [ "$INSTALL_WHEELS" = 1 ] && compgen -G ".whl/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
if [ "$NO_RASTERIO" = 1 ]; then
  hide=$(mktemp -d) && mkdir -p "$hide/rasterio"
  echo 'raise ModuleNotFoundError("No module named rasterio (hidden)", name="rasterio")' \
    >"$hide/rasterio/__init__.py"
  export PYTHONPATH=$hide${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1
LOG="$OUT/log.txt"
log() { echo "$(date -u +%T) $*" >>"$LOG"; }

{
  date -u
  nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"
  "$PY" -c "import torch, platform; print('python', platform.python_version(), 'torch', torch.__version__, 'gpu', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none')"
  "$PY" -c "import rasterio" 2>/dev/null && echo "rasterio present" || echo "rasterio absent"
  echo "config $CONFIG, data $DATA, run $RUN, epochs $EPOCHS, device $DEVICE, amp $AMP"
} >"$LOG" 2>&1
if [ ! -f "$DATA/split.json" ]; then
  log "no $DATA/split.json: carry data/packed-aid-nwpu (scripts/pack_training_data.py)"
  cat "$LOG"; exit 2
fi
if ! "$PY" -c "import pydantic, typer, yaml, skimage, matplotlib, tqdm" >>"$LOG" 2>&1; then
  log "a dependency is missing: carry .whl (see the header)"; cat "$LOG"; exit 2
fi

# 1. The number of epochs (a resumed run keeps the schedule its last.pt records).
schedule=()
if [ -f "$RUN/last.pt" ]; then
  log "resuming $RUN (its last.pt fixes the epochs)"
elif [ "$EPOCHS" = auto ]; then
  batch=$("$PY" -c "import yaml,sys; print(yaml.safe_load(open(sys.argv[1]))['train']['batch_size'])" "$CONFIG")
  # shellcheck disable=SC2086
  timeout 90 "$PY" benchmarks/train_throughput.py --scale cpu --methods jsdcgan --device "$DEVICE" \
    --amp "$AMP" --batch "$batch" --steps 15 --warmup 5 --json "$OUT/probe.json" $PROBE_ARGS \
    >>"$LOG" 2>&1
  EPOCHS=$("$PY" benchmarks/gpu_ship_plan.py epochs --probe "$OUT/probe.json" \
    --manifest "$DATA/split.json" --train-s "$TRAIN_S" --min "$EPOCHS_MIN" --max "$EPOCHS_MAX" \
    2>>"$LOG") || { log "probe failed: EPOCHS=40 (the config's)"; EPOCHS=40; }
fi
if [ ! -f "$RUN/last.pt" ]; then
  quarter=$("$PY" -c "print($EPOCHS / 4)")
  schedule=(--set "train.epochs=$EPOCHS" --set "loss.adv_warmup_epochs=$quarter"
    --set "loss.adv_ramp_epochs=$quarter")
fi

# 2. Train (SIGINT first: the loader workers stop; a kill 20 s later if not).
args=(train --config "$CONFIG" --data "$DATA" --split-manifest "$DATA/split.json" --out "$RUN"
  --resume --quiet --set "train.device=$DEVICE" --set "train.amp='$AMP'" "${schedule[@]}")
# shellcheck disable=SC2206
args+=($TRAIN_ARGS)
start=$(date +%s)
log "== train: rscolor ${args[*]}"
timeout -s INT -k 20 "$TRAIN_TIMEOUT" "$PY" -m rscolor "${args[@]}" >>"$LOG" 2>&1
log "train exit $? after $(( $(date +%s) - start )) s"
grep "epoch" "$RUN/train.log" 2>/dev/null | tail -3 >>"$LOG"
if [ ! -f "$RUN/best.pt" ]; then
  log "no best.pt: nothing to calibrate"; cat "$LOG"; exit 1
fi

# 3. Calibrate the saturation on validation (the network on the GPU, metrics on the CPU).
start=$(date +%s)
# shellcheck disable=SC2086
timeout "$CAL_TIMEOUT" "$PY" -m rscolor calibrate --checkpoint "$RUN/best.pt" \
  --data "$DATA" --split val --limit "$CAL_LIMIT" --gains "$GAINS" --device "$DEVICE" \
  --out "$OUT/calibration.json" --force >"$OUT/calibration.txt" 2>"$RUN/calibration.err"
log "calibration exit $? after $(( $(date +%s) - start )) s"
tr '\r' '\n' <"$RUN/calibration.err" | grep -v "it/s\]" | tail -5 >>"$LOG"  # no progress bars

# 4. Export best.pt with the chosen saturation and cap (no calibration: saturation 1, no cap).
if export=$("$PY" benchmarks/gpu_ship_plan.py export-args "$OUT/calibration.json" 2>>"$LOG"); then
  log "calibration chose: $export"
else
  export="--saturation 1"; log "no calibration: exporting at $export"
fi
# shellcheck disable=SC2086
"$PY" -m rscolor export --checkpoint "$RUN/best.pt" --format torch-fp16 $export \
  -o "$OUT/model.pt" --force >>"$LOG" 2>&1
log "export exit $?"
"$PY" -m rscolor info "$OUT/model.pt" >>"$LOG" 2>&1

# 5. The run's small files.
for f in history.csv train.log config.yaml; do
  [ -f "$RUN/$f" ] && cp "$RUN/$f" "$OUT/$f"
done
find "$OUT" -type f -size +16M -exec echo "over 16 MiB, will not come back: {}" \; >>"$LOG"
[ "$(find "$OUT" -type f | wc -l)" -le 8 ] || log "more than 8 files in $OUT: some will not come back"
tail -4 "$OUT/calibration.txt" 2>/dev/null
grep "exit\|chose\|training\|epoch\|probe" "$LOG" | tail -15
ls -la "$OUT"
