#!/usr/bin/env bash
# Installs the system packages model-server builds and tests with (Debian/Ubuntu). Idempotent.
set -euo pipefail

packages=(libopenblas-dev libnghttp2-dev zlib1g-dev pkg-config curl nghttp2-client openssl python3 python3-venv prometheus chromium chromium-driver)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "Installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "error: the Swift 6 toolchain is not on PATH (https://www.swift.org/install/linux/)." >&2
    exit 1
fi
