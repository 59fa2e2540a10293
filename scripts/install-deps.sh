#!/usr/bin/env bash
# Installs the Debian packages the OMS needs, only those missing. Idempotent and quiet when
# everything is already there. Runs apt-get as root (directly, or through sudo when available).
set -euo pipefail

pkgs=(build-essential cmake pkg-config git
      libzmq3-dev libczmq-dev libprotobuf-c-dev protobuf-c-compiler
      librocksdb-dev libcmocka-dev libsodium-dev libjansson-dev)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
