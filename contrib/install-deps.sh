#!/usr/bin/env bash
# Installs every Debian bookworm package omx needs to build, test and run its demo.
# Idempotent: packages already present are left alone. Run as root.
set -euo pipefail

PKGS=(
	build-essential cmake pkg-config git clang
	libsodium-dev libzmq3-dev libczmq-dev libfuse3-dev fuse3
	libprotobuf-c-dev protobuf-c-compiler
	libcmocka-dev
	iproute2 nftables procps psmisc util-linux jq
	python3 bc gzip coreutils sqlite3 make tar rsync acl
	zlib1g-dev
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#PKGS[@]} packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages (${missing[*]}); run as root" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
