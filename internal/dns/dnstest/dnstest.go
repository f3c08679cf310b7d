// Package dnstest is a DNS server on loopback for tests: it serves the
// records it is given (zone-file syntax) over UDP and TCP on one port,
// answers NXDOMAIN or an empty NOERROR as a real server would, follows one
// CNAME, and can be told to fail a name (SERVFAIL) or not answer it at all
// (a timeout).
package dnstest

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	mdns "github.com/miekg/dns"
)

// Server is a running test DNS server.
type Server struct {
	addr    string
	mu      sync.Mutex
	rrs     map[string][]mdns.RR // lower-case FQDN → records
	fail    map[string]int       // name → rcode to answer
	drop    map[string]bool      // name → no answer
	queries atomic.Int64
	udp     *mdns.Server
	tcp     *mdns.Server
}

// New starts a server for the test's lifetime.
func New(t testing.TB) *Server {
	t.Helper()
	var s *Server
	var err error
	for range 20 { // a free port for both UDP and TCP
		if s, err = Start("127.0.0.1:0"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start serves on addr ("127.0.0.1:0" for any free port), UDP and TCP on
// the same port, until Close: for benchmarks and tools outside tests.
func Start(addr string) (*Server, error) {
	s := &Server{rrs: map[string][]mdns.RR{}, fail: map[string]int{}, drop: map[string]bool{}}
	udp, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	tcp, err := net.Listen("tcp", udp.LocalAddr().String())
	if err != nil {
		udp.Close()
		return nil, err
	}
	s.addr = udp.LocalAddr().String()
	s.udp = &mdns.Server{PacketConn: udp, Handler: s}
	s.tcp = &mdns.Server{Listener: tcp, Handler: s}
	go s.udp.ActivateAndServe()
	go s.tcp.ActivateAndServe()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() {
	s.udp.Shutdown()
	s.tcp.Shutdown()
}

// Addr is the server's "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr }

// Queries counts the questions asked so far.
func (s *Server) Queries() int64 { return s.queries.Load() }

// Add serves records given in zone-file syntax, for example
// `example.org. 300 IN TXT "v=spf1 -all"`; it panics on a bad record.
func (s *Server) Add(records ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range records {
		rr, err := mdns.NewRR(r)
		if err != nil || rr == nil {
			panic("dnstest: bad record " + r + ": " + errString(err))
		}
		n := strings.ToLower(rr.Header().Name)
		s.rrs[n] = append(s.rrs[n], rr)
	}
}

func errString(err error) string {
	if err == nil {
		return "empty"
	}
	return err.Error()
}

// Fail makes every question about name get rcode (mdns.RcodeServerFailure…).
func (s *Server) Fail(name string, rcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[mdns.Fqdn(strings.ToLower(name))] = rcode
}

// Drop makes questions about name go unanswered.
func (s *Server) Drop(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop[mdns.Fqdn(strings.ToLower(name))] = true
}

// ServeDNS implements mdns.Handler.
func (s *Server) ServeDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	s.queries.Add(1)
	if len(req.Question) != 1 {
		w.WriteMsg(new(mdns.Msg).SetRcode(req, mdns.RcodeFormatError))
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.drop[name] {
		return
	}
	m := new(mdns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if rc, ok := s.fail[name]; ok {
		m.Rcode = rc
		w.WriteMsg(m)
		return
	}
	m.Answer = s.answer(name, q.Qtype, 0)
	if len(m.Answer) == 0 {
		if _, exists := s.rrs[name]; !exists {
			m.Rcode = mdns.RcodeNameError
		}
		soa, _ := mdns.NewRR(". 60 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60")
		m.Ns = []mdns.RR{soa}
	}
	if _, udp := w.LocalAddr().(*net.UDPAddr); udp {
		size := mdns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size) // the TC bit: the client asks again over TCP
	}
	w.WriteMsg(m)
}

// answer returns name's records of qtype, following a CNAME.
func (s *Server) answer(name string, qtype uint16, depth int) []mdns.RR {
	var out []mdns.RR
	for _, rr := range s.rrs[name] {
		switch {
		case rr.Header().Rrtype == qtype:
			out = append(out, rr)
		case rr.Header().Rrtype == mdns.TypeCNAME && depth < 8:
			out = append(out, rr)
			out = append(out, s.answer(strings.ToLower(rr.(*mdns.CNAME).Target), qtype, depth+1)...)
		}
	}
	return out
}

// TXT is a TXT record for name in zone syntax, with value cut into the
// 255-byte strings a TXT record holds (RFC 1035 §3.3.14), as a DKIM key
// needs.
func TXT(name, value string) string {
	var parts []string
	for len(value) > 255 {
		parts, value = append(parts, value[:255]), value[255:]
	}
	parts = append(parts, value)
	return mdns.Fqdn(name) + ` 300 IN TXT "` + strings.Join(parts, `" "`) + `"`
}
