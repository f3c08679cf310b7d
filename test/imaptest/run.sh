#!/usr/bin/env bash
# Runs Dovecot's imaptest (../shared/imaptest) against a throwaway Facteur
# built from this tree, on loopback ports, with a fresh data directory.
#
#   test/imaptest/run.sh compliance [GROUP...]   all 71 groups in one run (or the named
#                                                ones); exits 1 unless every group passes
#                                                with 0 failing commands
#   test/imaptest/run.sh stress [ARGS...]        imaptest's stress mode over plaintext IMAP;
#                                                default clients=10 secs=30 and a 1,000-
#                                                message mbox; exits 1 on any error
#   test/imaptest/run.sh compare [RUNS]          stress against Facteur and a throwaway
#                                                Dovecot (dovecot-imapd) in turn, RUNS times
#                                                (default 5; SECS=30 each), printing cmds/s
#                                                (every command imaptest counted / SECS)
#                                                and errors for each
#
# Needs Debian's dovecot-dev and dovecot-core to build imaptest (installed by
# ../shared/imaptest/imaptest.sh build, or by .ci/run); compare also needs
# dovecot-imapd and root. FACTEUR_BIN may name a prebuilt binary; IMAPTEST_KEEP=1
# keeps the work directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
shared=${SHARED:-$root/../shared}
imaptest=$shared/imaptest/imaptest.sh
[ -f "$imaptest" ] || { echo "no $imaptest" >&2; exit 2; }

USER_NAME=imaptest@example.test
PASS=imaptest-pass

work=$(mktemp -d /tmp/facteur-imaptest.XXXXXX)
chmod 755 "$work"
fpid=""
cleanup() {
  if [ -n "$fpid" ]; then kill "$fpid" 2>/dev/null || true; wait "$fpid" 2>/dev/null || true; fi
  [ -f "$work/dovecot.conf" ] && dovecot -c "$work/dovecot.conf" stop 2>/dev/null || true
  if [ "${IMAPTEST_KEEP:-}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 400); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 not open" >&2; exit 1; }

bin=$("$imaptest" bin | tail -1)
tests=$(dirname "$bin")/tests

start_facteur() {
  if [ -n "${FACTEUR_BIN:-}" ]; then cp "$FACTEUR_BIN" "$work/facteur"; else go build -o "$work/facteur" ./cmd/facteur; fi
  smtp=$(free_port); imap=$(free_port); imaps=$(free_port)
  cat > "$work/facteur.toml" <<CONF
hostname = "localhost"
data_dir = "$work/data"
[listen]
smtp = "127.0.0.1:$smtp"
submission = ""
submissions = ""
imap = "127.0.0.1:$imap"
imaps = "127.0.0.1:$imaps"
pop3 = ""
pop3s = ""
lmtp = ""
http = ""
managesieve = ""
[auth]
plaintext_networks = ["127.0.0.0/8"]
max_failures_per_ip = 100000
max_failures_per_account = 100000
[limits]
max_connections_per_ip = 1000
[log]
level = "warn"
[store]
fsync = ${IMAPTEST_FSYNC:-false}
CONF
  "$work/facteur" --config "$work/facteur.toml" serve >"$work/facteur.log" 2>&1 &
  fpid=$!
  wait_port "$imaps"
  "$work/facteur" --config "$work/facteur.toml" domain add example.test >/dev/null
  echo "$PASS" | "$work/facteur" --config "$work/facteur.toml" user add --password-stdin "$USER_NAME" >/dev/null
}

# compliance GROUP...: one imaptest run over every named group (all by default).
compliance() {
  start_facteur
  local t=$tests
  if [ $# -gt 0 ]; then
    mkdir -p "$work/tests"
    for g in "$@"; do cp "$tests/$g" "$work/tests/"; [ -f "$tests/$g.mbox" ] && cp "$tests/$g.mbox" "$work/tests/"; done
    cp "$tests"/default.mbox "$work/tests/" 2>/dev/null || true
    t=$work/tests
  fi
  set +e
  (cd "$t" && LD_LIBRARY_PATH=/usr/lib/dovecot "$bin" host=127.0.0.1 port="$imaps" ssl=any-cert \
      user="$USER_NAME" pass="$PASS" test="$t") >"$work/compliance.log" 2>&1
  local rc=$?
  set -e
  cat "$work/compliance.log"
  # imaptest's last line: "N test groups: M failed, K skipped due to missing capabilities"
  # and "base protocol: F/T individual commands failed".
  local summary
  summary=$(grep -E 'test groups:' "$work/compliance.log" | tail -1)
  [ -n "$summary" ] || { echo "imaptest printed no summary (exit $rc)" >&2; return 1; }
  # imaptest also prints "Error: …" for protocol violations it notices
  # outside a test's expectations (a keyword not announced in FLAGS, say).
  local errs; errs=$(errors "$work/compliance.log")
  if grep -qE 'test groups: 0 failed' <<<"$summary" && [ "$errs" = 0 ] &&
     ! grep -E 'individual commands failed' "$work/compliance.log" | grep -qvE '^\S.*: 0/'; then
    echo "imaptest compliance: all groups passed"
    return 0
  fi
  echo "imaptest compliance: FAILED ($summary; $errs Error lines)" >&2
  return 1
}

mbox() {
  # A 1,000-message mbox made here, each message with its own Message-ID
  # (imaptest's stress mode tracks messages by it): plain and multipart
  # messages, threads, several sizes. Same seed, same bytes.
  python3 - "$work/stress.mbox" <<'PY'
import random, sys
r = random.Random(1000)
words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike".split()
names = ["Ann Smith <ann@example.org>", "bob@example.net", '"Carol, Q." <carol@example.com>',
         "=?utf-8?q?D=C3=A9sir=C3=A9e?= <desiree@example.fr>", "eve@example.org"]
out = open(sys.argv[1], "w", newline="\n")
for i in range(1000):
    subj = " ".join(r.choice(words) for _ in range(r.randint(1, 6)))
    if i % 7 == 3: subj = "Re: " + subj
    h = ["From: " + r.choice(names), "To: " + r.choice(names), "Subject: " + subj,
         "Date: %s, %02d %s 2024 %02d:%02d:%02d +0000" % (r.choice(["Mon", "Tue", "Wed"]), r.randint(1, 28),
             r.choice(["Jan", "Feb", "Mar"]), r.randint(0, 23), r.randint(0, 59), r.randint(0, 59)),
         "Message-ID: <stress-%d@imaptest.example>" % i]
    if i % 3 == 1: h.append("Cc: " + r.choice(names))
    if i % 5 == 2 and i > 10: h.append("References: <stress-%d@imaptest.example>" % r.randint(0, i - 1))
    body = "\n".join(" ".join(r.choice(words) for _ in range(r.randint(3, 12))) for _ in range(r.randint(1, 60)))
    if i % 4 == 0:
        h += ["MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="b%d"' % i]
        body = ("--b%d\nContent-Type: text/plain; charset=us-ascii\n\n%s\n--b%d\n"
                "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
                "aGVsbG8gd29ybGQK\n--b%d--\n" % (i, body, i, i))
    body = "\n".join((">" + l if l.startswith("From ") else l) for l in body.split("\n"))
    out.write("From stress@imaptest.example Mon Jan  1 00:00:00 2024\n" + "\n".join(h) + "\n\n" + body + "\n\n")
PY
}

stress_run() { # PORT USER ARGS...: prints imaptest's output
  local port=$1 user=$2; shift 2
  LD_LIBRARY_PATH=/usr/lib/dovecot "$bin" host=127.0.0.1 port="$port" user="$user" pass="$PASS" \
    mbox="$work/stress.mbox" "$@" 2>&1
}

# errors LOG: counts the error lines imaptest printed ("Error: ...").
errors() { grep -cE '^Error|Error:' "$1" || true; }
# rate LOG: imaptest's total commands / seconds from its Totals line.
rate() { python3 - "$1" "$2" <<'PY'
import re, sys
lines = open(sys.argv[1], errors="replace").read().splitlines()
secs, tot = float(sys.argv[2]), None
if "Totals:" in lines:
    for l in lines[lines.index("Totals:") + 1:]:
        if re.fullmatch(r"[\d\s]+", l) and l.strip():
            tot = sum(int(x) for x in l.split())
            break
print("%.0f" % (tot / secs) if tot is not None else "?")
PY
}

stress() {
  start_facteur
  mbox
  local args=("$@")
  [ ${#args[@]} -gt 0 ] || args=(clients=10 secs=30)
  stress_run "$imap" "$USER_NAME" "${args[@]}" | tee "$work/stress.log"
  local n; n=$(errors "$work/stress.log")
  echo "imaptest stress: $n errors"
  [ "$n" = 0 ]
}

start_dovecot() {
  command -v dovecot >/dev/null || { echo "apt-get install dovecot-imapd" >&2; exit 2; }
  dimap=$(free_port)
  mkdir -p "$work/dovecot-run" "$work/dmail"
  echo "$USER_NAME:{PLAIN}$PASS::::::" > "$work/passwd"
  chown -R nobody:nogroup "$work/dmail"
  cat > "$work/dovecot.conf" <<CONF
instance_name = imaptestbench
base_dir = $work/dovecot-run
state_dir = $work/dovecot-run/state
log_path = $work/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $work/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$work/dmail/%u
}
service imap-login {
  inet_listener imap {
    port = $dimap
  }
  inet_listener imaps {
    port = 0
  }
}
CONF
  dovecot -c "$work/dovecot.conf"
  wait_port "$dimap"
}

compare() {
  local runs=${1:-5} secs=${SECS:-30}
  # Both durable: Facteur fsyncs as in production, Dovecot keeps its
  # default mail_fsync=optimized.
  IMAPTEST_FSYNC=${IMAPTEST_FSYNC:-true} start_facteur
  start_dovecot
  mbox
  echo "$(nproc) CPUs; imaptest stress clients=10 secs=$secs, 1,000-message mbox, plaintext on loopback"
  for r in $(seq "$runs"); do
    stress_run "$imap" "$USER_NAME" clients=10 secs="$secs" >"$work/f$r.log"
    stress_run "$dimap" "$USER_NAME" clients=10 secs="$secs" >"$work/d$r.log"
    echo "run $r: Facteur $(rate "$work/f$r.log" "$secs") cmds/s, $(errors "$work/f$r.log") errors;" \
         "Dovecot $(rate "$work/d$r.log" "$secs") cmds/s, $(errors "$work/d$r.log") errors"
  done
}

cmd=${1:-}; shift || true
case "$cmd" in
  compliance) compliance "$@" ;;
  stress) stress "$@" ;;
  compare) compare "$@" ;;
  *) sed -n '2,18p' "$0"; exit 2 ;;
esac
