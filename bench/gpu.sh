#!/usr/bin/env bash
# The GPU measurement on a bare machine with the GPU image (torch, no snakemake), in stages that
# each fit one 10-minute call. Here first: `bash bench/gpu_bundle.sh`; then there, carrying .whl
# and .fmnist:
#   bash bench/gpu.sh tests     # the GPU-only tests, then (a)-(c) at batch 128 and 512, cnn students
#                               # in flight, and the default study in bf16 and fp32 (4 jobs in flight)
#   bash bench/gpu.sh speed     # (a)-(c) for WRN-16-4 at batch 512 and 128; students in flight
#   bash bench/gpu.sh studies   # (d) the default study: 1, 4 and 8 jobs in flight; bf16 and fp32
#   bash bench/gpu.sh accuracy  # (b) vs (c) at equal epochs: WRN-16-4, batch 128, 15 epochs, 3 seeds
#   bash bench/gpu.sh full N    # (d) configs/fashion_mnist_full.yaml cut to N epochs, 4 jobs
# Each step has its own time limit; a failed step is reported and the next one runs. Tables go to
# stdout and $OUT/bench.md, step logs to $OUT/log.txt, the studies' tables to $OUT/tables/.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/ban-bench}
mkdir -p "$OUT"
if [ ! -d /tmp/site/snakemake ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
fi
export PYTHONPATH=/tmp/site:$PWD PATH=/tmp/site/bin:$PATH PYTHONUNBUFFERED=1 BAN_SYSTEM_DATA=$PWD/.fmnist

step() {  # step SECONDS COMMAND...: run with a time limit; its table to bench.md, its stderr to log.txt
  local limit=$1 start=$SECONDS status
  shift
  echo "### $*" | tee -a "$OUT/bench.md" >>"$OUT/log.txt"
  timeout "$limit" "$@" 2>>"$OUT/log.txt" | tee -a "$OUT/bench.md"
  status=${PIPESTATUS[0]}
  if [ "$status" != 0 ]; then echo "FAILED (exit $status): $*" | tee -a "$OUT/bench.md"; fi
  echo "($((SECONDS - start)) s)" | tee -a "$OUT/bench.md"
  return "$status"
}

stage=${1:-speed}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$OUT/bench.md"
python3 -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)" | tee -a "$OUT/bench.md"
case "$stage" in
  tests)
    step 120 python3 -m pytest -q -p no:cacheprovider tests/test_step.py tests/test_augment.py || exit 3
    step 120 python3 bench/train_speed.py --model wrn-16-4 --images 60000 --batch 128 --epochs 3 --workers 8
    step 100 python3 bench/train_speed.py --model wrn-16-4 --images 60000 --batch 512 --epochs 3 --workers 8
    step 90 python3 bench/concurrent_students.py --model cnn --images 60000 --epochs 3 --counts 1 4 8
    for precision in bf16 fp32; do
      step 130 python3 bench/study_time.py config.yaml --cores 8 --precision "$precision" --data "$PWD/data" --tables "$OUT/tables"
    done
    ;;
  speed)
    step 130 python3 bench/train_speed.py --model wrn-16-4 --images 60000 --batch 512 --epochs 3 --workers 8
    step 170 python3 bench/train_speed.py --model wrn-16-4 --images 60000 --batch 128 --epochs 3 --workers 8
    step 140 python3 bench/concurrent_students.py --model cnn --images 60000 --epochs 3 --counts 1 2 4 8
    step 100 python3 bench/concurrent_students.py --model wrn-16-4 --images 60000 --epochs 2 --counts 1 4
    ;;
  studies)
    for cores in 1 4 8; do
      step 200 python3 bench/study_time.py config.yaml --cores "$cores" --data "$PWD/data" --tables "$OUT/tables"
    done
    step 200 python3 bench/study_time.py config.yaml --cores 4 --precision fp32 --data "$PWD/data" --tables "$OUT/tables"
    ;;
  accuracy)
    for seed in 0 1 2; do
      step 180 python3 bench/train_speed.py --model wrn-16-4 --images 60000 --batch 128 --epochs 15 --workers 8 --seed "$seed"
    done
    ;;
  full)
    step 540 python3 bench/study_time.py configs/fashion_mnist_full.yaml --epochs "${2:-5}" --cores "${3:-4}" --data "$PWD/data" --tables "$OUT/tables"
    ;;
  *)
    echo "unknown stage $stage (tests, speed, studies, accuracy, full)" >&2
    exit 2
    ;;
esac
