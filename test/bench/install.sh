#!/usr/bin/env bash
# Installs what the benchmark harness needs beyond Go modules: Debian's
# mosquitto, when it is missing. The harness runs it with a config of its
# own on 127.0.0.1; the package's system service is not used.
set -euo pipefail

if command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ]; then
  exit 0
fi
echo "installing Debian package: mosquitto"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends mosquitto
