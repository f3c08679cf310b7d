package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// sink is an SMTP backend that keeps what it receives in memory.
type sink struct {
	rejectRcpt bool   // answer 550 to every RCPT
	user, pass string // accepted AUTH PLAIN credentials, if user != ""

	mu    sync.Mutex
	msgs  [][]byte
	rcpts [][]string // envelope recipients of each message
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }

func (s *sink) messages() ([][]byte, [][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.msgs, s.rcpts
}

type sinkSession struct {
	sink   *sink
	authed bool
	rcpts  []string
}

func (s *sinkSession) Reset()        { s.rcpts = nil }
func (s *sinkSession) Logout() error { return nil }

func (s *sinkSession) AuthMechanisms() []string {
	if s.sink.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *sinkSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != s.sink.user || pass != s.sink.pass {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.sink.user != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	return nil
}

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.sink.rejectRcpt {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.sink.mu.Lock()
	defer s.sink.mu.Unlock()
	s.sink.msgs = append(s.sink.msgs, b)
	s.sink.rcpts = append(s.sink.rcpts, s.rcpts)
	return nil
}

// startSink serves s on 127.0.0.1:0, with implicit TLS if implicitTLS, and
// returns its address.
func startSink(t *testing.T, s *sink, tlsConfig *tls.Config, implicitTLS bool) string {
	t.Helper()
	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	srv.TLSConfig = tlsConfig
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicitTLS {
		l = tls.NewListener(l, tlsConfig)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// selfSigned returns a server TLS configuration with a throwaway certificate.
func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

func TestRunDelivers(t *testing.T) {
	const n, c, size = 200, 4, 1024
	for _, tc := range []struct {
		name          string
		tls, starttls bool
		reuse         bool
		auth          bool
		to            []string
	}{
		{name: "plain reuse", reuse: true, to: []string{"rcpt@example.org"}},
		{name: "plain per-message connections", reuse: false, to: []string{"a@example.org", "b@example.org"}},
		{name: "starttls auth reuse", starttls: true, auth: true, reuse: true, to: []string{"rcpt@example.org"}},
		{name: "implicit tls auth per-message connections", tls: true, auth: true, reuse: false, to: []string{"rcpt@example.org"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &sink{}
			var tlsConfig *tls.Config
			if tc.tls || tc.starttls {
				tlsConfig = selfSigned(t)
			}
			o := options{
				From: "load@example.com", To: tc.to,
				N: n, C: c, Size: size,
				TLS: tc.tls, StartTLS: tc.starttls,
				Reuse: tc.reuse, Timeout: 10 * time.Second, Helo: "localhost",
			}
			if tc.auth {
				s.user, s.pass = "bench", "se:cret"
				o.Auth = "bench:se:cret"
			}
			o.Addr = startSink(t, s, tlsConfig, tc.tls)

			res, err := run(o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Sent != n || res.Errors != 0 || len(res.Latencies) != n {
				t.Fatalf("sent=%d errors=%d latencies=%d, want %d, 0, %d; errors: %v",
					res.Sent, res.Errors, len(res.Latencies), n, n, res.ErrorSamples)
			}
			msgs, rcpts := s.messages()
			if len(msgs) != n {
				t.Fatalf("sink received %d messages, want %d", len(msgs), n)
			}
			ids := make(map[string]bool)
			dotLines := 0
			for i, raw := range msgs {
				if len(raw) < size*95/100 || len(raw) > size*105/100 {
					t.Errorf("message %d is %d bytes, want about %d", i, len(raw), size)
				}
				if strings.Join(rcpts[i], ",") != strings.Join(tc.to, ",") {
					t.Errorf("message %d: envelope recipients %v, want %v", i, rcpts[i], tc.to)
				}
				for _, line := range bytes.SplitAfter(raw, []byte("\n")) {
					if len(line) == 0 {
						continue
					}
					if !bytes.HasSuffix(line, []byte("\r\n")) || len(line) > maxLine+2 {
						t.Fatalf("message %d: bad line %q", i, line)
					}
					if line[0] == '.' {
						dotLines++
					}
				}
				m, err := mail.ReadMessage(bytes.NewReader(raw))
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if _, err := m.Header.Date(); err != nil {
					t.Errorf("message %d: Date: %v", i, err)
				}
				if from, err := m.Header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != o.From {
					t.Errorf("message %d: From %v, %v", i, from, err)
				}
				if to, err := m.Header.AddressList("To"); err != nil || len(to) != len(tc.to) {
					t.Errorf("message %d: To %v, %v", i, to, err)
				}
				if m.Header.Get("Subject") == "" {
					t.Errorf("message %d: no Subject", i)
				}
				id := m.Header.Get("Message-ID")
				if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.com>") {
					t.Errorf("message %d: bad Message-ID %q", i, id)
				}
				if ids[id] {
					t.Errorf("message %d: duplicate Message-ID %q", i, id)
				}
				ids[id] = true
			}
			if dotLines == 0 {
				t.Error("no line starting with a dot came through: dot-stuffing not exercised")
			}
		})
	}
}

func TestRunRcptRejected(t *testing.T) {
	const n = 200
	s := &sink{rejectRcpt: true}
	for _, reuse := range []bool{true, false} {
		res, err := run(options{
			Addr: startSink(t, s, nil, false), From: "load@example.com", To: []string{"nobody@example.org"},
			N: n, C: 4, Size: 1024, Reuse: reuse, Timeout: 10 * time.Second, Helo: "localhost",
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent != n || res.Errors != n || len(res.Latencies) != 0 {
			t.Errorf("reuse=%v: sent=%d errors=%d latencies=%d, want %d, %d, 0",
				reuse, res.Sent, res.Errors, len(res.Latencies), n, n)
		}
		if len(res.ErrorSamples) != 1 || res.ErrorSamples[0].Count != n ||
			!strings.HasPrefix(res.ErrorSamples[0].Text, "RCPT TO: 550 ") {
			t.Errorf("reuse=%v: error samples %+v", reuse, res.ErrorSamples)
		}
	}
	if msgs, _ := s.messages(); len(msgs) != 0 {
		t.Errorf("sink received %d messages, want 0", len(msgs))
	}
}

// TestRunRetriesClosedConnection uses a fake server that closes the
// connection after each message: with -reuse, the next message must be
// retried on a new connection rather than fail.
func TestRunRetriesClosedConnection(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				io.WriteString(conn, "220 fake\r\n")
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					switch strings.ToUpper(line[:4]) {
					case "DATA":
						io.WriteString(conn, "354 go\r\n")
						for line != ".\r\n" {
							if line, err = r.ReadString('\n'); err != nil {
								return
							}
						}
						io.WriteString(conn, "250 ok, bye\r\n")
						return
					case "QUIT":
						io.WriteString(conn, "221 bye\r\n")
						return
					default:
						io.WriteString(conn, "250 ok\r\n")
					}
				}
			}()
		}
	}()
	res, err := run(options{
		Addr: l.Addr().String(), From: "load@example.com", To: []string{"rcpt@example.org"},
		N: 50, C: 2, Size: 512, Reuse: true, Timeout: 10 * time.Second, Helo: "localhost",
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 0 || res.Retries == 0 {
		t.Errorf("errors=%d retries=%d, want 0 errors and some retries; %v", res.Errors, res.Retries, res.ErrorSamples)
	}
}

func TestRealMain(t *testing.T) {
	var stdout, stderr bytes.Buffer
	addr := startSink(t, &sink{}, nil, false)
	code := realMain([]string{"-addr", addr, "-from", "a@example.com", "-to", "b@example.org, c@example.org",
		"-n", "20", "-c", "3", "-size", "2000"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr.String())
	}
	re := regexp.MustCompile(`^sent=20 errors=0 elapsed=\d+\.\d\ds\n` +
		`rate=\d+\.\d msg/s\n` +
		`latency p50=\d+\.\dms p90=\d+\.\dms p99=\d+\.\dms max=\d+\.\dms\n$`)
	if !re.MatchString(stdout.String()) {
		t.Errorf("unexpected output:\n%s", stdout.String())
	}

	stdout.Reset()
	stderr.Reset()
	addr = startSink(t, &sink{rejectRcpt: true}, nil, false)
	code = realMain([]string{"-addr", addr, "-from", "a@example.com", "-to", "b@example.org", "-n", "7"}, &stdout, &stderr)
	if code != 1 {
		t.Errorf("exit status %d with rejected recipients, want 1", code)
	}
	if !strings.HasPrefix(stdout.String(), "sent=7 errors=7 ") || !strings.Contains(stdout.String(), "p50=n/a") {
		t.Errorf("unexpected output:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "7x RCPT TO: 550 5.1.1 No such user") {
		t.Errorf("unexpected stderr:\n%s", stderr.String())
	}

	for _, args := range [][]string{
		{},
		{"-addr", addr, "-from", "a@example.com"},
		{"-addr", addr, "-from", "a@example.com", "-to", "b@example.org", "-tls", "-starttls"},
		{"-addr", addr, "-from", "a@example.com", "-to", "b@example.org", "-n", "0"},
		{"-addr", addr, "-from", "a@example.com", "-to", "b@example.org", "extra"},
		{"-addr", addr, "-from", "a@example.com", "-to", "b@example.org", "-auth", "nocolon"},
		{"-bogus"},
	} {
		if code := realMain(args, io.Discard, io.Discard); code != 2 {
			t.Errorf("realMain(%q) = %d, want 2", args, code)
		}
	}
	stderr.Reset()
	if code := realMain([]string{"--help"}, io.Discard, &stderr); code != 0 || !strings.Contains(stderr.String(), "-starttls") {
		t.Errorf("--help: status %d, output:\n%s", code, stderr.String())
	}
}

func TestAppendBody(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	for n := 0; n < 3000; n++ {
		b := appendBody(nil, n, rng)
		if want := max(n, 2*min(n, 1)); len(b) != want && !(n == 0 && len(b) == 0) {
			t.Fatalf("appendBody(%d): %d bytes", n, len(b))
		}
		for _, line := range bytes.SplitAfter(b, []byte("\r\n")) {
			if len(line) == 0 {
				continue
			}
			text, ok := bytes.CutSuffix(line, []byte("\r\n"))
			if !ok || len(text) > maxLine {
				t.Fatalf("appendBody(%d): bad line %q", n, line)
			}
			for _, ch := range text {
				if ch < ' ' || ch > '~' {
					t.Fatalf("appendBody(%d): unprintable %q in %q", n, ch, line)
				}
			}
		}
	}
}

func TestWriteDotStuffed(t *testing.T) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	writeDotStuffed(w, []byte(".a\r\nb\r\n.\r\n..\r\nc"))
	w.Flush()
	if got, want := buf.String(), "..a\r\nb\r\n..\r\n...\r\nc\r\n.\r\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestPercentile(t *testing.T) {
	r := &result{}
	for i := 1; i <= 100; i++ {
		r.Latencies = append(r.Latencies, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{0.5: 50, 0.9: 90, 0.99: 99, 1: 100} {
		if got, _ := r.percentile(p); got != want*time.Millisecond {
			t.Errorf("percentile(%v) = %v, want %v", p, got, want*time.Millisecond)
		}
	}
	if _, ok := (&result{}).percentile(0.5); ok {
		t.Error("percentile of nothing reported ok")
	}
}
