package spf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var (
	clientIP  = netip.MustParseAddr("192.0.2.1")
	otherIP   = netip.MustParseAddr("198.51.100.7")
	clientIP6 = netip.MustParseAddr("2001:db8::1")
)

// testZone is a small zone: example.com lets 192.0.2.1 send, helo.example
// lets its own address send.
func testZone() *fakeDNS {
	d := newFakeDNS()
	d.add("example.com", "TXT", "v=spf1 ip4:192.0.2.1 -all exp=why.example.com")
	d.add("why.example.com", "TXT", "%{i} may not send for %{d} as %{l}")
	d.add("helo.example", "TXT", "v=spf1 a -all")
	d.add("helo.example", "A", "198.51.100.7")
	return d
}

func TestCheckHost(t *testing.T) {
	t.Parallel()
	c := &Checker{Resolver: testZone()}
	ctx := context.Background()
	tests := []struct {
		ip                   netip.Addr
		domain, sender, want string
		identity, explain    string
	}{
		{clientIP, "example.com", "a@example.com", Pass, IdentityMailFrom, ""},
		{otherIP, "example.com", "a@example.com", Fail, IdentityMailFrom,
			"198.51.100.7 may not send for example.com as a"},
		// RFC 7208 §4.3: no local-part means postmaster.
		{otherIP, "example.com", "@example.com", Fail, IdentityMailFrom,
			"198.51.100.7 may not send for example.com as postmaster"},
		{otherIP, "helo.example", "", Pass, IdentityHELO, ""},
		{clientIP6, "helo.example", "", Fail, IdentityHELO, ""},
		{otherIP, "nowhere.example", "a@nowhere.example", None, IdentityMailFrom, ""},
		{otherIP, "[192.0.2.1]", "", None, IdentityHELO, ""},
		{otherIP, "localhost", "", None, IdentityHELO, ""},
		{netip.Addr{}, "example.com", "a@example.com", PermError, IdentityMailFrom, ""},
	}
	for _, tt := range tests {
		got := c.CheckHost(ctx, tt.ip, tt.domain, tt.sender, "helo.example")
		if got.Result != tt.want || got.Identity != tt.identity || got.Domain != tt.domain ||
			got.Explanation != tt.explain || got.Reason == "" {
			t.Errorf("CheckHost(%v, %q, %q) = %+v, want %s for %s, explanation %q",
				tt.ip, tt.domain, tt.sender, got, tt.want, tt.identity, tt.explain)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	c := &Checker{Resolver: testZone()}
	ctx := context.Background()

	mf, helo := c.Check(ctx, otherIP, "helo.example", "a@example.com")
	if mf.Result != Fail || mf.Domain != "example.com" || mf.Identity != IdentityMailFrom {
		t.Errorf("MAIL FROM result %+v, want fail for example.com", mf)
	}
	if helo.Result != Pass || helo.Domain != "helo.example" || helo.Identity != IdentityHELO {
		t.Errorf("HELO result %+v, want pass for helo.example", helo)
	}

	// RFC 7208 §2.4: the null sender is postmaster@HELO.
	mf, helo = c.Check(ctx, otherIP, "helo.example", "")
	if mf.Result != Pass || mf.Domain != "helo.example" || mf.Identity != IdentityMailFrom ||
		helo.Result != Pass {
		t.Errorf("null sender: %+v and %+v, want pass for helo.example twice", mf, helo)
	}

	// An address literal is not checked as HELO (§2.3).
	mf, helo = c.Check(ctx, clientIP, "[192.0.2.1]", "a@example.com")
	if mf.Result != Pass || helo.Result != None || helo.Identity != IdentityHELO {
		t.Errorf("address literal HELO: %+v and %+v, want pass and none", mf, helo)
	}
}

// errResolver answers every query with err.
type errResolver struct{ err error }

func (r errResolver) LookupTXT(context.Context, string) ([]string, error) { return nil, r.err }
func (r errResolver) LookupMX(context.Context, string) ([]*net.MX, error) { return nil, r.err }
func (r errResolver) LookupIPAddr(context.Context, string) ([]net.IPAddr, error) {
	return nil, r.err
}
func (r errResolver) LookupAddr(context.Context, string) ([]string, error) { return nil, r.err }

// The library asserts *net.DNSError without errors.As; wrapped errors,
// other errors and DNS errors that are neither "not found" nor temporary
// must still come out as RFC 7208 §4.4 says.
func TestResolverErrors(t *testing.T) {
	t.Parallel()
	refused := &net.DNSError{Err: "refused", Name: "example.com"}
	nx := &net.DNSError{Err: "no such host", Name: "example.com", IsNotFound: true}
	tests := []struct {
		err  error
		want string
	}{
		{nx, None},
		{fmt.Errorf("resolver: %w", nx), None},
		{refused, TempError},
		{fmt.Errorf("resolver: %w", refused), TempError},
		{errors.New("connection reset"), TempError},
		{context.Canceled, TempError},
	}
	for _, tt := range tests {
		c := &Checker{Resolver: errResolver{tt.err}}
		got := c.CheckHost(context.Background(), clientIP, "example.com", "a@example.com", "")
		if got.Result != tt.want {
			t.Errorf("resolver error %v: %s (%s), want %s", tt.err, got.Result, got.Reason, tt.want)
		}
	}
}

// blockingResolver answers when the context is done, and reports the
// deadline it was given.
type blockingResolver struct {
	errResolver
	deadline chan time.Time
}

func (r blockingResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	d, _ := ctx.Deadline()
	r.deadline <- d
	<-ctx.Done()
	return nil, ctx.Err()
}

// RFC 7208 §4.6.4: running out of time is a temperror; the default limit
// is 20 seconds.
func TestTimeout(t *testing.T) {
	t.Parallel()
	r := blockingResolver{deadline: make(chan time.Time, 1)}
	c := &Checker{Resolver: r, Timeout: time.Millisecond}
	got := c.CheckHost(context.Background(), clientIP, "example.com", "a@example.com", "")
	if got.Result != TempError {
		t.Errorf("after the time limit: %s (%s), want temperror", got.Result, got.Reason)
	}
	<-r.deadline

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Result)
	go func() {
		done <- (&Checker{Resolver: r}).CheckHost(ctx, clientIP, "example.com", "a@example.com", "")
	}()
	deadline := <-r.deadline
	if left := time.Until(deadline); left < 19*time.Second || left > DefaultTimeout {
		t.Errorf("default time limit: %v left, want about %v", left, DefaultTimeout)
	}
	cancel()
	if got := <-done; got.Result != TempError {
		t.Errorf("canceled: %s (%s), want temperror", got.Result, got.Reason)
	}
}

// A syntax error anywhere is a permerror, even after a match (RFC 7208
// §4.6), and the reason names it.
func TestSyntaxErrorReason(t *testing.T) {
	t.Parallel()
	d := newFakeDNS()
	d.add("example.com", "TXT", "v=spf1 +all a:bad_end")
	got := (&Checker{Resolver: d}).CheckHost(context.Background(), clientIP, "example.com", "a@example.com", "")
	if got.Result != PermError || !strings.Contains(got.Reason, "a:bad_end") {
		t.Errorf("got %s (%s), want permerror naming the term", got.Result, got.Reason)
	}
}
