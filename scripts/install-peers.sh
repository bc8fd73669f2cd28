#!/usr/bin/env bash
# Installs the servers the test suite starts for itself (PostgreSQL today; Dovecot and
# others as connectors arrive). Idempotent: installs only what is missing. Needs root or
# sudo for apt-get; fails loudly when it cannot install a peer.
set -euo pipefail

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
  || need+=(postgresql)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)

if ((${#need[@]})); then
  echo "Installing test peers: ${need[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# A packaged cluster may start on install; the suite runs its own and needs none of it.
echo "Test peers present: PostgreSQL $(ls /usr/lib/postgresql 2>/dev/null | tr '\n' ' ')"
