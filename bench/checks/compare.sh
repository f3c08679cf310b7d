#!/usr/bin/env bash
# Measures the MX listener with every inbound check on against the same
# run with the checks off, on this machine, in one session: a throwaway
# Facteur (fsync on, as in production), a DNS server on loopback
# (bench/dnsserve) answering SPF, DKIM, DMARC, reverse DNS and a DNS
# block list, and bench/smtpload sending DKIM-signed (Ed25519) messages
# from 20 connections. Not run in CI.
#
#   bench/checks/compare.sh                 # N=20000 messages, C=20 senders, ROUNDS=3
#   N=5000 ROUNDS=1 bench/checks/compare.sh
#   PROFILE=/tmp/checks.pprof bench/checks/compare.sh   # + CPU profiles of the last round: /tmp/checks.pprof.on, .off
#
# "on": iprev, dnsbl (a zone that does not list 127.0.0.1), spf, dkim,
# dmarc (p=reject, enforced), the per-IP rate limits (raised so the run
# is not limited) and the pregreet test (passed once in the warm-up);
# trusted_networks = [] so loopback is checked like any client.
# "off": spf, dkim, dmarc, iprev false, dnsbl [], no pregreet, no limits.
# Each run has a fresh server of its own, stopped before the next starts;
# each prints smtpload's figures, the server's CPU per message and the
# idle CPU time of the machine; the last line is the ratio of the medians.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-20000}
C=${C:-20}
ROUNDS=${ROUNDS:-3}
work=$(mktemp -d /tmp/facteur-checks.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
. bench/mxlib.sh # free_port, wait_port, mx_config

if [ -n "${PROFILE:-}" ]; then
  go build -tags cpuprofile -o "$work/facteur" ./cmd/facteur
else
  go build -o "$work/facteur" ./cmd/facteur
fi
go build -o "$work/smtpload" ./bench/smtpload
go build -o "$work/dnsserve" ./bench/dnsserve

# The sender's DKIM key: a scratch instance of a.test makes one.
mkdir -p "$work/sender"
printf 'hostname = "mx.a.test"\ndata_dir = "%s/sender/data"\n[listen]\nsmtp = ""\nsubmission = ""\nsubmissions = ""\nimap = ""\nimaps = ""\npop3 = ""\npop3s = ""\nlmtp = ""\nhttp = ""\n' "$work" > "$work/sender/f.toml"
"$work/facteur" --config "$work/sender/f.toml" domain add a.test >/dev/null
dkimrr=$("$work/facteur" --config "$work/sender/f.toml" domain dns a.test | grep '^facteur-ed25519._domainkey')
cat > "$work/zone" <<ZONE
a.test. 300 IN TXT "v=spf1 ip4:127.0.0.1 -all"
_dmarc.a.test. 300 IN TXT "v=DMARC1; p=reject"
1.0.0.127.in-addr.arpa. 300 IN PTR mx.a.test.
mx.a.test. 300 IN A 127.0.0.1
$dkimrr
ZONE
dnsport=$(free_port)
"$work/dnsserve" -addr "127.0.0.1:$dnsport" -zone "$work/zone" > "$work/dns.log" 2>&1 &
pids+=($!)
sleep 0.3

start_facteur() { # NAME CHECKS-TOML: starts an instance, sets port
  local name=$1 checks=$2
  port=$(free_port)
  mkdir -p "$work/$name"
  mx_config "$work/$name" "$port" "resolver = \"127.0.0.1:$dnsport\"
$checks"
  FACTEUR_CPUPROFILE=${PROFILE:+$PROFILE.$name} "$work/facteur" --config "$work/$name/f.toml" serve > "$work/$name/log" 2>&1 &
  pids+=($!)
  eval "pid_$name=$!"
  wait_port "$port"
  "$work/facteur" --config "$work/$name/f.toml" domain add b.test >/dev/null
  echo "bench password" | "$work/facteur" --config "$work/$name/f.toml" user add --password-stdin bob@b.test >/dev/null
}

idle() { # seconds every CPU of the machine was idle so far
  awk -v hz="$(getconf CLK_TCK)" '/^cpu /{print ($5 + $6) / hz}' /proc/stat
}

cpu() { # PID: CPU seconds used so far (user + system)
  awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}

report() { # PID: the server's CPU per message and the machine's idle time since c0, i0
  echo "  server CPU $(python3 -c "print('%.0f' % (($(cpu "$1") - $c0) * 1e6 / $N))") µs/message; machine idle $(python3 -c "print('%.1f' % ($(idle) - $i0))") CPU-seconds"
}

load() { # PORT N: prints smtpload's figures
  /usr/bin/time -f "  client CPU %U user %S sys" "$work/smtpload" -addr "127.0.0.1:$1" -from alice@a.test -to bob@b.test -n "$2" -c "$C" -size 4096 \
    -helo mx.a.test -dkim "$work/sender/data/dkim/a.test/ed25519.pem" -dkim-selector facteur-ed25519
}

OFF='spf = false
dkim = false
dmarc = false
arc = false
iprev = false
dnsbl = []
pregreet_wait = "0s"
rate_messages_per_ip = 0
rate_recipients_per_ip = 0'
ON='trusted_networks = []
dnsbl = ["bl.test"]
pregreet_wait = "1s"
rate_messages_per_ip = 100000000
rate_recipients_per_ip = 100000000'
echo "$(nproc) CPUs; $N messages of 4 KiB, $C connections, DKIM-signed (Ed25519), fsync on; a fresh server for each run"

measure() { # NAME CHECKS ROUND: one run on a fresh server, stopped after it; appends the rate to rates
  local name=$1$3 pid
  start_facteur "$name" "$2"; eval "pid=\$pid_$name"
  [ "$3" = 1 ] && grep -h "Inbound checks" "$work/$name/log"
  load "$port" 200 >/dev/null 2>&1 # passes the pregreet test once, warms the DNS cache
  c0=$(cpu "$pid"); i0=$(idle)
  [ -n "${PROFILE:-}" ] && kill -USR1 "$pid"
  o=$(load "$port" "$N"); echo "round $3, checks $1: $(echo "$o" | tr '\n' ' ')"
  report "$pid"
  if [ -n "${PROFILE:-}" ]; then kill -USR2 "$pid"; sleep 1; mv "$PROFILE.$name" "$PROFILE.$1"; fi
  rates+=("$(echo "$o" | sed -n 's/^rate=\([0-9.]*\).*/\1/p')")
  # Stopped at once, so that the work it defers (text indexing) does not
  # compete with the next run.
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$work/$name/data"
}

offs=(); ons=()
for r in $(seq "$ROUNDS"); do
  # Fresh stores each run: a store that grows round after round is
  # slower, and both sides must start equal.
  rates=(); measure off "$OFF" "$r"; offs+=("${rates[0]}")
  rates=(); measure on "$ON" "$r"; ons+=("${rates[0]}")
done
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true; tail -1 "$work/dns.log"
python3 - "${offs[*]}" "${ons[*]}" <<'PY'
import statistics, sys
off = [float(x) for x in sys.argv[1].split()]
on = [float(x) for x in sys.argv[2].split()]
mo, mn = statistics.median(off), statistics.median(on)
print("median: checks off %.0f msg/s, checks on %.0f msg/s: %.0f%%" % (mo, mn, 100 * mn / mo))
PY
