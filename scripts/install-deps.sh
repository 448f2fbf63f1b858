#!/usr/bin/env bash
# Installs the Debian 12 packages cleanroom needs to build, test and run its
# demo. Idempotent: does nothing when everything is present. Run as root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  googletest libgtest-dev libgmock-dev
  libcpp-httplib-dev nlohmann-json3-dev libspdlog-dev libcli11-dev libssl-dev
  libboost1.81-dev libboost-filesystem1.81-dev
  tmux python3 procps
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (or install them with apt-get)" >&2
  exit 2
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
