#!/usr/bin/env bash
# Measures delivery over SMTP with a 20-rule Sieve script active for the
# recipient against the same run without one, on this machine, in one
# session: a throwaway Facteur (fsync on, inbound checks off, so that
# Sieve is what differs) and bench/smtpload from 20 connections. Each run
# has a fresh server of its own; the last line is the ratio of the
# medians. Not run in CI.
#
#   bench/sieve/compare.sh                 # N=20000 messages, C=20 senders, ROUNDS=3, RULES=20
#   N=5000 ROUNDS=1 bench/sieve/compare.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-20000}
C=${C:-20}
ROUNDS=${ROUNDS:-3}
RULES=${RULES:-20}
work=$(mktemp -d /tmp/facteur-sieve.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }; rm -rf "$work"; }
trap cleanup EXIT
. bench/mxlib.sh # free_port, wait_port, mx_config

go build -o "$work/facteur" ./cmd/facteur
go build -o "$work/smtpload" ./bench/smtpload
go run ./bench/sieve/gen -n "$RULES" > "$work/rules.sieve"

measure() { # NAME ROUND: one run on a fresh server; "on" has the script active
  local name=$1 port
  port=$(free_port)
  mkdir -p "$work/$name"
  mx_config "$work/$name" "$port" "spf = false
dkim = false
dmarc = false
arc = false
iprev = false
dnsbl = []
pregreet_wait = \"0s\"
rate_messages_per_ip = 0
rate_recipients_per_ip = 0"
  "$work/facteur" --config "$work/$name/f.toml" serve > "$work/$name/log" 2>&1 &
  pid=$!
  wait_port "$port"
  local f=("$work/facteur" --config "$work/$name/f.toml")
  "${f[@]}" domain add b.test >/dev/null
  echo "bench password" | "${f[@]}" user add --password-stdin bob@b.test >/dev/null
  if [ "$name" = on ]; then
    "${f[@]}" sieve put bob@b.test rules "$work/rules.sieve" >/dev/null
    "${f[@]}" sieve activate bob@b.test rules >/dev/null
  fi
  "$work/smtpload" -addr "127.0.0.1:$port" -from alice@a.test -to bob@b.test -n 200 -c "$C" -size 4096 >/dev/null
  local o
  o=$("$work/smtpload" -addr "127.0.0.1:$port" -from alice@a.test -to bob@b.test -n "$N" -c "$C" -size 4096)
  echo "round $2, sieve $name: $(echo "$o" | tr '\n' ' ')"
  rates+=("$(echo "$o" | sed -n 's/^rate=\([0-9.]*\).*/\1/p')")
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  rm -rf "$work/$name/data"
}

echo "$(nproc) CPUs; $N messages of 4 KiB, $C connections, fsync on; a $RULES-rule script (bench/sieve/gen) for the recipient or none"
offs=(); ons=()
for r in $(seq "$ROUNDS"); do
  rates=(); measure off "$r"; offs+=("${rates[0]}")
  rates=(); measure on "$r"; ons+=("${rates[0]}")
done
python3 - "${offs[*]}" "${ons[*]}" <<'PY'
import statistics, sys
off = [float(x) for x in sys.argv[1].split()]
on = [float(x) for x in sys.argv[2].split()]
mo, mn = statistics.median(off), statistics.median(on)
print("median: without Sieve %.0f msg/s, with the script %.0f msg/s: %.0f%%" % (mo, mn, 100 * mn / mo))
PY
