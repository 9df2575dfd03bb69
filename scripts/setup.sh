#!/usr/bin/env bash
# Installs what the tests need, idempotently: Debian packages (as root), the
# Python test venv, and a running PostgreSQL. Prints the environment to use.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(chromium chromium-driver clickhouse-server haproxy postgresql-client python3-venv prometheus prometheus-alertmanager)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: missing Debian packages: ${missing[*]}; install them as root" >&2
        exit 1
    fi
    echo "setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

venv="${LIVEOPS_TEST_VENV:-$HOME/.cache/liveops-venv}"
stamp="$venv/.requirements.sha256"
want=$(sha256sum scripts/test-requirements.txt | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing Python test clients into $venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/test-requirements.txt >&2
    echo "$want" > "$stamp"
fi

# The JavaScript SDKs, pinned by scripts/npm/package-lock.json, into a
# folder outside the checkout.
npm_dir="${LIVEOPS_TEST_NODE_DIR:-$HOME/.cache/liveops-npm}"
npm_want=$(cat scripts/npm/package.json scripts/npm/package-lock.json | sha256sum | cut -d' ' -f1)
if [ "$(cat "$npm_dir/.lock.sha256" 2>/dev/null)" != "$npm_want" ]; then
    echo "setup: installing the JavaScript test clients into $npm_dir" >&2
    mkdir -p "$npm_dir"
    cp scripts/npm/package.json scripts/npm/package-lock.json "$npm_dir/"
    (cd "$npm_dir" && npm ci --no-audit --no-fund --silent >&2)
    echo "$npm_want" > "$npm_dir/.lock.sha256"
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    if [ "$(id -u)" -eq 0 ] && [ -d /etc/postgresql ]; then
        echo "setup: starting PostgreSQL" >&2
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start >&2
        for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    fi
fi

echo "export LIVEOPS_TEST_VENV=$venv"
echo "export LIVEOPS_TEST_NODE_DIR=$npm_dir"
# Real OSV advisories for the security tests: beside the checkout, or at
# /work/shared/osv on the project's machines.
for osv in "${LIVEOPS_OSV_DIR:-}" "$PWD/../shared/osv" /work/shared/osv; do
    if [ -n "$osv" ] && [ -d "$osv/crates.io" ]; then
        echo "export LIVEOPS_OSV_DIR=$(cd "$osv" && pwd)"
        break
    fi
done
if pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "export LIVEOPS_TEST_POSTGRES_URL=\${LIVEOPS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
else
    echo "setup: PostgreSQL is not reachable at 127.0.0.1:5432; the PostgreSQL stories will not run" >&2
fi
