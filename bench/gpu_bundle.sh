#!/usr/bin/env bash
# Prepare, on this machine, what a bare GPU machine needs to run bench/gpu.sh: snakemake and its
# dependencies as wheels for the GPU image's Python 3.12 in .whl/, and the Fashion-MNIST files in
# .fmnist/ (both git-ignored; the device run carries both: about 60 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
SNAKEMAKE=$(grep -i '^snakemake==' requirements.txt)
rm -rf .whl .fmnist
mkdir -p .whl .fmnist
# connection_pool (a snakemake dependency) is published as a source archive only: build its wheel.
"$PYTHON" -m pip wheel --quiet --disable-pip-version-check --no-deps connection_pool==0.0.3 -w .whl
"$PYTHON" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
  --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --find-links .whl -d .whl "$SNAKEMAKE"
SOURCE=${BAN_SYSTEM_DATA:-/usr/share/datasets/fashion-mnist}
test -d "$SOURCE" || SOURCE=data/FashionMNIST/raw
cp "$SOURCE"/*-ubyte.gz .fmnist/
du -sh .whl .fmnist
