# Shell helpers shared by the MX benchmarks (bench/checks/compare.sh,
# bench/sieve/compare.sh): sourced, not run.

# free_port prints a TCP port free on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_port PORT waits until something listens on 127.0.0.1:PORT.
wait_port() { for _ in $(seq 400); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 not open" >&2; exit 1; }

# mx_config DIR PORT CHECKS writes DIR/f.toml: a throwaway mx.b.test with
# its data in DIR/data, only the MX listener (on PORT), warnings only in
# the log, and CHECKS as the [checks] section's lines.
mx_config() {
  cat > "$1/f.toml" <<CONF
hostname = "mx.b.test"
data_dir = "$1/data"
[listen]
smtp = "127.0.0.1:$2"
submission = ""
submissions = ""
imap = ""
imaps = ""
pop3 = ""
pop3s = ""
lmtp = ""
http = ""
managesieve = ""
[limits]
max_connections_per_ip = 100
[log]
level = "warn"
[checks]
$3
CONF
}
