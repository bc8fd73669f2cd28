#!/usr/bin/env bash
# Installs the servers the test suite starts for itself (PostgreSQL, Dovecot, rclone,
# Redis), and what the web view's browser tests drive and check pages with (Debian's
# Chromium, with fonts for readable screenshots, and axe-core's rules from npm into
# .cache/axe-core). Idempotent: installs only what is missing. Needs root or
# sudo for apt-get; fails loudly when it cannot install a peer.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
axe_dir="$root/.cache/axe-core"
axe_js="$axe_dir/node_modules/axe-core/axe.min.js"

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
  || need+=(postgresql)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)
[[ -x /usr/sbin/dovecot ]] || need+=(dovecot-imapd)
command -v rclone >/dev/null 2>&1 || need+=(rclone)  # the second WebDAV test server
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)  # the Celery broker
# The browser Playwright drives (never a browser build of Playwright's own), and a font.
[[ -x /usr/bin/chromium ]] || need+=(chromium)
[[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || need+=(fonts-dejavu-core)
if [[ ! -f $axe_js ]] && ! command -v npm >/dev/null 2>&1; then
  need+=(npm)
fi

if ((${#need[@]})); then
  echo "Installing test peers: ${need[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt-get (the mail corpora's install, say) may hold the lock: wait for it.
  $sudo apt-get update -qq -o DPkg::Lock::Timeout=600
  $sudo apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${need[@]}"
fi
if [[ ! -f $axe_js ]]; then
  echo "Installing axe-core (accessibility rules for the browser tests) into $axe_dir"
  mkdir -p "$axe_dir"
  # --ignore-scripts: the package is a script for the page; nothing of it runs here.
  npm install --prefix "$axe_dir" --no-audit --no-fund --ignore-scripts --loglevel=error \
    axe-core@4
fi
echo "Browser test peers present: $(/usr/bin/chromium --version 2>/dev/null || echo 'no chromium'), axe-core $(sed -n 's/^ *"version": "\(.*\)",/\1/p' "$axe_dir/node_modules/axe-core/package.json" | head -1)"
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
