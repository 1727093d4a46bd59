#!/bin/sh
# Install the Debian packages moescope needs (only those not installed yet).
#   tools/install_deps.sh              build, test and run dependencies
#   tools/install_deps.sh --training   also the optional ones for re-training the demo model
#                                      (tools/demo_model/train.sh); never needed to build or test
set -eu

packages="build-essential cmake pkg-config
  libimgui-dev libglfw3-dev libsqlite3-dev libsentencepiece-dev sentencepiece libonig-dev libicu-dev
  nlohmann-json3-dev libcli11-dev libstb-dev libgtest-dev libbenchmark-dev xvfb xauth libgl1-mesa-dri
  fonts-dejavu-core fonts-noto-cjk sqlite3
  clang libclang-rt-14-dev"

# The demo model's corpus: verse and prose from the fortune files (English, German, Spanish, Italian).
training_packages="fortune-mod fortunes fortunes-min fortunes-de fortunes-es fortunes-it
  python3-torch python3-numpy python3-sentencepiece"

if [ "${1:-}" = "--training" ]; then
  packages="$packages $training_packages"
elif [ $# -gt 0 ]; then
  echo "install_deps.sh: unknown option '$1' (expected --training or nothing)" >&2
  exit 2
fi

missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "all packages installed"
  exit 0
fi
echo "installing:$missing"
apt-get update
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
