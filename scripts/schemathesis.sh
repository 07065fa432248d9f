#!/usr/bin/env bash
# Runs Schemathesis against the debug server with the server's own OpenAPI document
# (/api/v1/openapi.json): every operation, signed in as a customer (session cookie + X-CSRF-Token),
# with a workspace key and an operator token, checking that nothing answers 5xx and that every
# answer has a documented status, content type and schema. Fails if it finds anything.
#   scripts/schemathesis.sh            (builds target/debug/billing-center if it is missing)
# Environment: SCHEMATHESIS_PORT (3200), SCHEMATHESIS_MAX_EXAMPLES (per operation, 25),
# SCHEMATHESIS_SEED (a fixed seed makes a run repeatable; default: random, printed).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

version=4.32.5
venv=.tools/schemathesis
port=${SCHEMATHESIS_PORT:-3200}
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-25}
seed=${SCHEMATHESIS_SEED:-$RANDOM$RANDOM}
base="http://127.0.0.1:$port"
work=target/schemathesis

# A venv of its own, from PyPI, with the pinned version (Python 3.9 or newer; 3.11 here).
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -qF "$version"; then
  python=$(command -v python3.11 || command -v python3)
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi
py="$venv/bin/python"

bin=target/debug/billing-center
[ -x "$bin" ] || cargo build -p server

rm -rf "$work"
mkdir -p "$work"
export DATABASE_URL="sqlite://$PWD/$work/billing.db"
export PAYMENT_SANDBOX=on
export LEPTOS_SITE_ADDR="127.0.0.1:$port"
export PUBLIC_URL="$base"
export RUST_LOG=${RUST_LOG:-warn}

"$bin" serve >"$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf "$base/healthz" >/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; echo "the server did not start" >&2; exit 1; }
  sleep 0.2
done

json() { "$py" -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# The customer of the documented examples (alice), signed in; their workspace and its key.
curl -sf -c "$work/cookies" -H 'content-type: application/json' "$base/api/v1/accounts" \
  -d '{"username":"alice","email":"alice@example.com","password":"correct horse battery"}' >"$work/me.json"
BC_CSRF=$(json '["csrf_token"]' <"$work/me.json")
BC_SESSION=$(awk '$6 == "bc_session" {print $7}' "$work/cookies")
customer=(-b "bc_session=$BC_SESSION" -H "X-CSRF-Token: $BC_CSRF" -H 'content-type: application/json')
curl -sf "${customer[@]}" "$base/api/v1/workspaces" -d '{"workspace_id":"schemathesis","name":"Schemathesis"}' >"$work/workspace.json"
BC_WORKSPACE_KEY=$(json '["api_key"]' <"$work/workspace.json")

# An operator and its token (the CLI, as an operator would).
echo "operator password for schemathesis" | "$bin" operator create schemathesis_ops >/dev/null
BC_OPERATOR_TOKEN=$("$bin" operator token schemathesis_ops --days 1 2>/dev/null)
ops=(-H "Authorization: Bearer $BC_OPERATOR_TOKEN" -H 'content-type: application/json')
export BC_SESSION BC_CSRF BC_WORKSPACE_KEY BC_OPERATOR_TOKEN

# Something in every list: cash, a voucher, a card, yesterday's usage settled into a bill.
yesterday=$("$py" -c 'import datetime; print(datetime.date.today() - datetime.timedelta(days=1))')
curl -sf "${ops[@]}" "$base/api/v1/ops/bank-transfers" -d '{"account":"alice","amount":"5000.00","reference":"SETUP-0001"}' >/dev/null
curl -sf "${ops[@]}" "$base/api/v1/ops/vouchers" -d '{"account":"alice","face_value":"30.00","valid_days":30}' >/dev/null
curl -sf "${customer[@]}" "$base/api/v1/prepaid-cards" -d '{"denomination":"1000.00"}' >/dev/null
curl -sf "${customer[@]}" "$base/api/v1/topups" -d '{"amount":"88.88","method":"bank_transfer"}' >/dev/null
curl -sf -H "Authorization: Bearer $BC_WORKSPACE_KEY" -H 'content-type: application/json' "$base/api/v1/usage" \
  -d "{\"records\":[{\"id\":\"setup-1\",\"item\":\"logs\",\"retention_days\":7,\"quantity\":\"1500000\",\"day\":\"$yesterday\"}]}" >/dev/null
curl -sf "${ops[@]}" "$base/api/v1/ops/settlements" -d "{\"day\":\"$yesterday\"}" >/dev/null

run() {
  "$venv/bin/schemathesis" --config-file scripts/schemathesis.toml run "$base/api/v1/openapi.json" \
    --url "$base/api/v1" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "$max_examples" --seed "$seed" --workers 2 --request-timeout 20 \
    --suppress-health-check too_slow,filter_too_much \
    --report junit,har --report-dir "$work/report" "$@"
}

echo "schemathesis $version: seed $seed, $max_examples examples per operation"
start=$SECONDS
status=0
# Everything but what ends the credentials (signing out, revoking a token) ...
run --exclude-method DELETE || status=$?
# ... which runs last.
run --include-method DELETE --phases examples,coverage,fuzzing --report-junit-path delete.xml || status=$?
echo "schemathesis: $((SECONDS - start)) s"
if [ "$status" -ne 0 ]; then
  echo "server log: $work/server.log" >&2
fi
exit "$status"
