#!/usr/bin/env bash
# Fashion-MNIST for the default study: Debian's `dataset-fashion-mnist` package when run as root,
# otherwise torchvision's download into <data root>/FashionMNIST/raw. ban verifies checksums on load.
set -euo pipefail
root=${1:-data}
system=/usr/share/datasets/fashion-mnist
if ls "$root"/FashionMNIST/raw/*-ubyte >/dev/null 2>&1 || ls "$system"/*-ubyte.gz >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian package dataset-fashion-mnist"
  apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null && apt-get install -y -qq dataset-fashion-mnist >/dev/null; }
else
  echo "downloading Fashion-MNIST into $root"
  python -c "import sys, torchvision; torchvision.datasets.FashionMNIST(sys.argv[1], download=True)" "$root"
fi
