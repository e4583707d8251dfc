#!/usr/bin/env bash
# Installs what the tests in test/ need when it is missing: Debian packages
# for Autobahn|Python and Autobahn|C++, python3-zeroconf and iproute2 for
# the discovery test (test/discovery), npm packages (from the committed
# package-lock.json) for Autobahn|JS. Go modules come with `go test`.
set -euo pipefail
cd "$(dirname "$0")"

debs=(python3-autobahn python3-msgpack python3-zeroconf iproute2 autobahn-cpp-dev nlohmann-json3-dev g++ nodejs npm)
missing=()
for d in "${debs[@]}"; do
  dpkg -s "$d" >/dev/null 2>&1 || missing+=("$d")
done
# node and npm may come from elsewhere than Debian: take them as they are.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Autobahn|JS at the version package-lock.json pins.
if [ ! -d peers/js/node_modules/autobahn ] || [ peers/js/package-lock.json -nt peers/js/node_modules/.package-lock.json ]; then
  echo "installing npm packages for the Autobahn|JS peer"
  (cd peers/js && npm ci --no-audit --no-fund --loglevel=error)
fi
