#!/usr/bin/env bash
# Compares POP3 retrieval on this machine: Facteur against Dovecot
# (Debian's dovecot-pop3d), the same mailboxes of identical 4 KiB messages,
# the same client (bench/pop3load), in the same run. Not run in CI.
#
# Needs root (Dovecot's master process), dovecot-pop3d and python3:
#   apt-get install -y dovecot-pop3d python3
#   bench/pop3load/compare.sh                 # defaults below
#   MESSAGES=500 ROUNDS=5 bench/pop3load/compare.sh
#   PROFILE=/tmp/facteur.pprof bench/pop3load/compare.sh   # + CPU profile
#
# What it does, all under one mktemp directory in /tmp (removed at exit):
#  1. builds facteur and pop3load;
#  2. starts Facteur with a throwaway config (loopback ports, USER/PASS
#     allowed without TLS from 127.0.0.0/8, store.fsync off to fill the
#     mailboxes quickly: reading does not fsync), creates MAILBOXES users
#     and delivers MESSAGES copies of one 4096-byte message to each over
#     SMTP (Facteur adds a Received header);
#  3. fetches one stored message back and writes MESSAGES copies of exactly
#     those bytes into a Maildir per user for Dovecot (LF line endings, as
#     Dovecot's LDA writes them, with S= and W= sizes in the file names),
#     and starts Dovecot as root with its own config (passwd-file with
#     {PLAIN} passwords, static userdb as nobody, no TLS, loopback port);
#  4. runs pop3load against each server once to warm up (Dovecot builds its
#     indexes and renames files for \Seen; Facteur caches the password
#     check), then ROUNDS measured runs alternating between the two, each
#     downloading every mailbox ROUNDS… once over CONNS connections with
#     PIPELINE RETR commands per write, without deleting. Each line also
#     gives the server's CPU time over the round (Facteur's process;
#     Dovecot's master, its live processes and the children they reaped),
#     which the other load on a shared machine disturbs less than msg/s.
#  With PROFILE=FILE, Facteur is built with -tags cpuprofile and FILE gets
#  the server's CPU profile over the measured rounds (go tool pprof FILE).
set -euo pipefail
cd "$(dirname "$0")/../.."

MAILBOXES=${MAILBOXES:-10}
MESSAGES=${MESSAGES:-2000}
CONNS=${CONNS:-10}
ROUNDS=${ROUNDS:-3}
PIPELINE=${PIPELINE:-16}
PROFILE=${PROFILE:-}
PASS=benchpass

[ "$(id -u)" = 0 ] || { echo "run as root (Dovecot)"; exit 2; }
command -v dovecot >/dev/null || { echo "apt-get install dovecot-pop3d"; exit 2; }

work=$(mktemp -d /tmp/pop3bench.XXXXXX)
chmod 755 "$work"
fpid=""
cleanup() {
  [ -n "$fpid" ] && kill "$fpid" 2>/dev/null && wait "$fpid" 2>/dev/null || true
  [ -f "$work/dovecot.conf" ] && dovecot -c "$work/dovecot.conf" stop 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 not open"; exit 1; }

echo "building…"
if [ -n "$PROFILE" ]; then
  go build -tags cpuprofile -o "$work/facteur" ./cmd/facteur
  export FACTEUR_CPUPROFILE="$work/cpu.pprof"
else
  go build -o "$work/facteur" ./cmd/facteur
fi
go build -o "$work/pop3load" ./bench/pop3load

# 1. One 4096-byte message, CRLF line endings.
python3 - "$work/msg.eml" <<'EOF'
import sys
head = ("From: Bench <bench@remote.test>\r\nTo: <user@bench.test>\r\nSubject: 4 KiB\r\n"
        "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <bench@remote.test>\r\n\r\n")
body, i = "", 0
while len(head) + len(body) < 4096 - 80:
    body += ("line %05d " % i + "abcdefghijklmnopqrstuvwxyz" * 3)[:74] + "\r\n"; i += 1
body += "x" * (4096 - len(head) - len(body) - 2) + "\r\n"
open(sys.argv[1], "wb").write((head + body).encode())
EOF

# 2. Facteur.
smtp=$(free_port); fpop=$(free_port)
cat > "$work/facteur.toml" <<EOF
hostname = "localhost"
data_dir = "$work/facteur-data"
[listen]
smtp = "127.0.0.1:$smtp"
submission = ""
submissions = ""
imap = ""
imaps = ""
pop3 = "127.0.0.1:$fpop"
pop3s = ""
lmtp = ""
http = ""
managesieve = ""
[auth]
plaintext_networks = ["127.0.0.0/8"]
[log]
level = "warn"
[store]
fsync = false
EOF
F() { "$work/facteur" --config "$work/facteur.toml" "$@"; }
"$work/facteur" --config "$work/facteur.toml" serve >"$work/facteur.log" 2>&1 &
fpid=$!   # the server itself, not a subshell, so cleanup stops it
wait_port "$smtp"
F domain add bench.test >/dev/null
for i in $(seq 0 $((MAILBOXES - 1))); do
  echo "$PASS" | F user add --password-stdin "user$i@bench.test" >/dev/null
done
echo "delivering $MESSAGES messages to each of $MAILBOXES Facteur mailboxes…"
python3 - "$smtp" "$MAILBOXES" "$MESSAGES" "$work/msg.eml" <<'EOF'
import smtplib, sys, threading
port, boxes, n, raw = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), open(sys.argv[4], "rb").read()
def fill(i):
    s = smtplib.SMTP("127.0.0.1", port)
    for _ in range(n):
        s.sendmail("bench@remote.test", ["user%d@bench.test" % i], raw)
    s.quit()
ts = [threading.Thread(target=fill, args=(i,)) for i in range(boxes)]
[t.start() for t in ts]; [t.join() for t in ts]
EOF

# 3. Dovecot, with the bytes Facteur stored.
python3 - "$fpop" "$PASS" "$work/stored.eml" <<'EOF'
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1])); p.user("user0@bench.test"); p.pass_(sys.argv[2])
_, lines, _ = p.retr(1); p.quit()
open(sys.argv[3], "wb").write(b"\n".join(lines) + b"\n")
EOF
dpop=$(free_port)
mkdir -p "$work/dovecot-run" "$work/mail"
: > "$work/passwd"
for i in $(seq 0 $((MAILBOXES - 1))); do
  echo "user$i@bench.test:{PLAIN}$PASS::::::" >> "$work/passwd"
done
python3 - "$work/stored.eml" "$work/mail" "$MAILBOXES" "$MESSAGES" <<'EOF'
import os, sys
raw, root, boxes, n = open(sys.argv[1], "rb").read(), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
vsize = len(raw) + raw.count(b"\n")
for i in range(boxes):
    md = os.path.join(root, "user%d@bench.test" % i, "Maildir")
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, d))
    for j in range(n):
        with open(os.path.join(md, "cur", "1700000000.M%dP%d.bench,S=%d,W=%d:2," % (j, i, len(raw), vsize)), "wb") as f:
            f.write(raw)
EOF
chown -R nobody:nogroup "$work/mail"
cat > "$work/dovecot.conf" <<EOF
instance_name = pop3bench
base_dir = $work/dovecot-run
state_dir = $work/dovecot-run/state
log_path = $work/dovecot.log
protocols = pop3
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
  args = uid=nobody gid=nogroup home=$work/mail/%u
}
service pop3-login {
  inet_listener pop3 {
    port = $dpop
  }
  inet_listener pop3s {
    port = 0
  }
}
EOF
dovecot -c "$work/dovecot.conf"
wait_port "$dpop"

# 4. Measure.
load() { "$work/pop3load" -addr "127.0.0.1:$1" -users 'user%d@bench.test' -mailboxes "$MAILBOXES" \
  -pass "$PASS" -c "$CONNS" -pipeline "$PIPELINE"; }
echo "$(nproc) CPUs; $MAILBOXES mailboxes × $MESSAGES messages of $(wc -c < "$work/stored.eml") bytes (LF; $(( $(wc -c < "$work/stored.eml") + $(wc -l < "$work/stored.eml") )) with CRLF), $CONNS connections, pipeline $PIPELINE"
echo "Facteur $("$work/facteur" version | head -1); $(dovecot --version | sed 's/^/Dovecot /')"
load "$fpop" >/dev/null
load "$dpop" >/dev/null
# cpu PID: CPU seconds used so far by PID, its descendants and the children
# they reaped (Dovecot's pop3 processes exit with their connection).
cpu() { python3 - "$1" <<'EOF'
import os, sys
stats = {}
for p in filter(str.isdigit, os.listdir("/proc")):
    try:
        s = open("/proc/%s/stat" % p).read()
    except (OSError, ValueError):
        continue
    f = s[s.rfind(")") + 2:].split()
    stats[int(p)] = (int(f[1]), sum(int(x) for x in f[11:15]))
tree, todo = set(), [int(sys.argv[1])]
while todo:
    p = todo.pop(); tree.add(p)
    todo += [c for c, (pp, _) in stats.items() if pp == p and c not in tree]
print(sum(stats[p][1] for p in tree if p in stats) / os.sysconf("SC_CLK_TCK"))
EOF
}
# round NAME PORT PID: one measured download, with the server's CPU time.
round() {
  local c0 out c1
  c0=$(cpu "$3"); out=$(load "$2" | tr '\n' ' '); c1=$(cpu "$3")
  echo "round $r $1: $out server-cpu=$(python3 -c "import sys, re
c = float(sys.argv[2]) - float(sys.argv[1]); n = int(re.search(r'messages=(\d+)', sys.argv[3]).group(1))
print('%.2fs %.1fus/msg' % (c, 1e6 * c / max(n, 1)))" "$c0" "$c1" "$out")"
}
dpid=$(cat "$work/dovecot-run/master.pid")
[ -n "$PROFILE" ] && kill -USR1 "$fpid"
for r in $(seq "$ROUNDS"); do
  round Facteur "$fpop" "$fpid"
  round Dovecot "$dpop" "$dpid"
done
if [ -n "$PROFILE" ]; then
  kill -USR2 "$fpid"
  for _ in $(seq 100); do [ -f "$work/cpu.pprof" ] && break; sleep 0.1; done
  cp "$work/cpu.pprof" "$PROFILE"
  cp "$work/facteur" "$PROFILE.bin"
  echo "Facteur CPU profile of the measured rounds: go tool pprof $PROFILE.bin $PROFILE"
fi
