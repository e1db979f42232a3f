#!/usr/bin/env bash
# User-space instructions per proxied request, counted by callgrind: stable
# where CPU time on a shared machine is not.
#
# The gateway runs under `valgrind --tool=callgrind` with one worker; curl
# sends N requests over one keep-alive connection to a route; the difference
# between a run of N=2500 and one of N=500, divided by 2000, cancels start-up
# and shutdown. Prints one line per (binary, route).
#
#   bash benches/instructions.sh [BINARY...]    (default: target/release/portcullis)
#   WEBHOOK=0 bash benches/instructions.sh OLD_BINARY   (builds without webhook verifiers)
#
# Routes: a plain route with an injected header, an RS256 JWT route, and a
# webhook route (hmac-sha256 over a 1 KiB POST body, read whole, verified,
# forwarded).
#
# Needs valgrind and curl; builds nothing (run `cargo build --release` and
# `cargo bench --no-run` first: the upstream is the proxy_load bench binary
# in its upstream role).
set -euo pipefail
cd "$(dirname "$0")/.."

bins=("$@")
[ ${#bins[@]} -eq 0 ] && bins=(target/release/portcullis)
bench=$(ls -t target/release/deps/proxy_load-* 2>/dev/null | grep -v '\.d$' | head -1)
[ -x "$bench" ] || { echo "run 'cargo bench --no-run' first" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; [ -n "${KEEP:-}" ] && cp "$work"/cg.* "$KEEP"/; rm -rf "$work"' EXIT

PORTCULLIS_BENCH_ROLE=upstream "$bench" >"$work/upstream.addr" &
for _ in $(seq 50); do [ -s "$work/upstream.addr" ] && break; sleep 0.1; done
upstream=$(head -1 "$work/upstream.addr")

# WEBHOOK=0 leaves out the webhook route (for builds older than webhooks).
paths="/api/bench/chat /api/jwt/chat"
webhook_config=""
if [ "${WEBHOOK:-1}" = 1 ]; then
  paths="$paths /api/webhook/events"
  webhook_config='[auth.partner]
type = "hmac"
secrets = ["bench-webhook-secret"]
header = "x-signature"
[[routes]]
name = "webhook"
path = "/api/webhook"
upstream = "http://'"$upstream"'/v1"
auth = "partner"'
fi
cat >"$work/proxy.toml" <<EOF
[server]
workers = 1
watch_config = false
[[routes]]
name = "bench"
path = "/api/bench"
upstream = "http://$upstream/v1"
auth = "none"
inject_headers = { authorization = "Bearer \${env:BENCH_KEY}" }
[auth.bench]
issuer = "bench"
audience = ["bench"]
public_key = "\${file:$PWD/tests/fixtures/rsa1.pub.pem}"
algorithms = ["RS256"]
$webhook_config
[[routes]]
name = "jwt"
path = "/api/jwt"
upstream = "http://$upstream/v1"
auth = "bench"
forward_claims = { "x-user-id" = "sub" }
inject_headers = { authorization = "Bearer \${env:BENCH_KEY}" }
EOF
# A long-lived RS256 token for the bench issuer (signed once with the test fixture key).
token=$(python3 - <<'EOF'
import base64, json, subprocess
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
head = b(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
body = b(json.dumps({"iss": "bench", "aud": "bench", "sub": "user-1", "exp": 4000000000}).encode())
sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", "tests/fixtures/rsa1.pem"],
                     input=f"{head}.{body}".encode(), capture_output=True, check=True).stdout
print(f"{head}.{body}.{b(sig)}")
EOF
)

# A 1 KiB webhook body and its HMAC-SHA256 (the hmac scheme keeps no delivery
# record, so every request is verified and forwarded).
head -c 1024 /dev/zero | tr '\0' 'x' >"$work/body"
signature=$(openssl dgst -sha256 -hmac bench-webhook-secret "$work/body" | awk '{print $NF}')

# Instructions for n requests to path through binary bin.
count() {
  local bin=$1 path=$2 n=$3 port out
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  out="$work/cg.$n"
  BENCH_KEY=sk-bench PORTCULLIS_SERVER__LISTEN=127.0.0.1:$port PORTCULLIS_LOG_FORMAT=json \
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" run --config "$work/proxy.toml" 2>/dev/null &
  local pid=$!
  for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
  : >"$work/urls"
  for _ in $(seq "$n"); do echo "url = \"http://127.0.0.1:$port$path\"" >>"$work/urls"; echo "output = /dev/null" >>"$work/urls"; done
  if [ "$path" = /api/webhook/events ]; then
    curl -s -K "$work/urls" -H "x-signature: $signature" -H "content-type: application/json" --data-binary @"$work/body"
  else
    curl -s -K "$work/urls" -H "authorization: Bearer $token"
  fi
  kill -TERM "$pid"; wait "$pid" || true
  grep -E '^(summary|totals):' "$out" | head -1 | awk '{print $2}'
}

for bin in "${bins[@]}"; do
  for path in $paths; do
    small=$(count "$bin" "$path" 500)
    large=$(count "$bin" "$path" 2500)
    echo "$bin $path: $(( (large - small) / 2000 )) instructions/request"
  done
done
