#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 for the tests and prints the URL the
# tests create their databases through. Uses, in order: BILLING_TEST_POSTGRES_URL if set; the
# server already listening there (this machine kind runs one, trust auth); otherwise installs
# Debian's postgresql and starts a throwaway cluster (trust auth, loopback only) under /tmp.
set -euo pipefail

if [[ -n "${BILLING_TEST_POSTGRES_URL:-}" ]]; then
  echo "$BILLING_TEST_POSTGRES_URL"
  exit 0
fi
port=${BILLING_TEST_POSTGRES_PORT:-5432}
url="postgres://postgres@127.0.0.1:$port/postgres"

answers() { (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; }

if answers; then
  echo "$url"
  exit 0
fi

log() { echo "postgres.sh: $*" >&2; }
sudo_if_needed() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  log "no PostgreSQL answers on 127.0.0.1:$port; installing Debian's postgresql"
  sudo_if_needed apt-get update -qq >&2
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
# The package may have started its own cluster.
for _ in 1 2 3 4 5; do answers && { echo "$url"; exit 0; }; sleep 1; done

bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
data=/tmp/billing-center-pg-$port
log "starting a throwaway cluster in $data"
run_as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/postgresql postgres
fi
rm -rf "$data"
mkdir -p "$data"
[[ $(id -u) -eq 0 ]] && chown postgres "$data"
run_as_postgres "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 >&2
run_as_postgres "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $data" start >&2
answers || { log "the cluster did not start; see $data/server.log"; exit 1; }
echo "$url"
