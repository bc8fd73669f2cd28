#!/usr/bin/env bash
# Installs the servers the test suite starts for itself (PostgreSQL, Dovecot, rclone,
# Redis). Idempotent: installs only what is missing. Needs root or
# sudo for apt-get; fails loudly when it cannot install a peer.
set -euo pipefail

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
  || need+=(postgresql)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)
[[ -x /usr/sbin/dovecot ]] || need+=(dovecot-imapd)
command -v rclone >/dev/null 2>&1 || need+=(rclone)  # the second WebDAV test server
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)  # the Celery broker

if ((${#need[@]})); then
  echo "Installing test peers: ${need[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# The dovecot package starts and enables a system-wide instance on ports 143/993; the
# suite starts its own per session, so the packaged one is stopped and kept from booting.
if [[ -x /usr/sbin/dovecot ]]; then
  dsudo=""
  [[ $(id -u) -eq 0 ]] || dsudo="sudo"
  if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    $dsudo systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
  else
    $dsudo update-rc.d dovecot disable >/dev/null 2>&1 || true
    if [[ -e /run/dovecot/master.pid ]]; then $dsudo doveadm stop >/dev/null 2>&1 || true; fi
  fi
  echo "Test peers present: $(/usr/sbin/dovecot --version | sed 's/^/Dovecot /')"
fi
# A packaged cluster may start on install; the suite runs its own and needs none of it.
echo "Test peers present: PostgreSQL $(ls /usr/lib/postgresql 2>/dev/null | tr '\n' ' ')"
