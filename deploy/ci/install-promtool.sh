#!/usr/bin/env bash
# Installs promtool (Debian's prometheus package) when it is missing; the alert-rule tests need it.
# About 15 s on Debian 12 once the package lists are fresh.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-promtool: not root and no sudo; install the prometheus package" >&2; exit 1; }
  as_root=(sudo -n)
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get install -y --no-install-recommends prometheus >/dev/null \
  || { "${as_root[@]}" apt-get update -qq && "${as_root[@]}" apt-get install -y --no-install-recommends prometheus >/dev/null; }

promtool --version | head -n 1
