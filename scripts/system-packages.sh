#!/usr/bin/env bash
# Make sure the system programs spenv's backends need are installed, installing the missing ones
# through apt-get when this runs as root (or with password-less sudo). Otherwise stop at once
# with the one command to run.
#
#   scripts/system-packages.sh demo   # coqc (Coq) and bwrap (bubblewrap): proofs, code sandbox
#   scripts/system-packages.sh test   # the same plus Chromium and its driver (the page's browser test)
set -euo pipefail

case "${1:-test}" in
    demo) wanted="coqc:coq bwrap:bubblewrap" ;;
    test) wanted="coqc:coq bwrap:bubblewrap chromium:chromium chromedriver:chromium-driver" ;;
    *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac

missing=()
for pair in $wanted; do
    program=${pair%%:*}
    package=${pair#*:}
    command -v "$program" >/dev/null 2>&1 || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

packages="${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "spenv needs these system packages, and this machine has no apt-get: $packages" >&2
    echo "Install them with your package manager, then run make again." >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    run=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    run=(sudo -n)
else
    echo "spenv needs these system packages: $packages" >&2
    echo "Run:  sudo apt-get update && sudo apt-get install -y $packages" >&2
    exit 1
fi
echo "installing system packages: $packages"
"${run[@]}" apt-get update -qq
"${run[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
for pair in $wanted; do
    program=${pair%%:*}
    command -v "$program" >/dev/null 2>&1 || { echo "apt-get ran, but $program is still missing" >&2; exit 1; }
done
