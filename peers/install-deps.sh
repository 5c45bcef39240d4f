#!/usr/bin/env bash
# Debian packages the private stack runs beside the Go tools (run as root).
# Keeps the packages' own services from starting (policy-rc.d): the stack starts
# its own MariaDB and docker-registry instances on 127.0.0.1 (Debian's
# docker-registry would otherwise start on :5000 with htpasswd auth).
set -euo pipefail
PKGS=(mariadb-server mariadb-client docker-registry apache2-utils openssl jq curl python3 python3-venv ca-certificates)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && { echo "install-deps: all present"; exit 0; }
created=0
if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; created=1; fi
trap '[ $created = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
