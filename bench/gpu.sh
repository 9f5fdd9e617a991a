#!/usr/bin/env bash
# The whole GPU measurement in one call on a bare machine with the GPU image (torch, no snakemake).
# Here first: `bash bench/gpu_bundle.sh`; then run `bash bench/gpu.sh` there, carrying .whl and
# .fmnist. Prints (a)-(c) for WRN-16-4 at batch 512 and 128, then (d) the default study with one
# and with four trainings in flight on the GPU. Tables also go to $OUT (or /tmp/ban-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/ban-bench}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD PATH=/tmp/site/bin:$PATH PYTHONUNBUFFERED=1 BAN_SYSTEM_DATA=$PWD/.fmnist
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
for batch in 512 128; do
  python3 bench/train_speed.py --model wrn-16-4 --images 60000 --batch "$batch" --workers 8 | tee "$OUT/speed_wrn16-4_b$batch.md"
done
python3 bench/study_time.py config.yaml --cores 1 --data "$PWD/data" | tee "$OUT/study_1.md"
python3 bench/study_time.py config.yaml --cores 4 --data "$PWD/data" | tee "$OUT/study_4.md"
