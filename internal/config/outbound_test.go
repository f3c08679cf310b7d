package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The [outbound] keys outside tests rely on.
func TestOutboundContract(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.toml")
	os.WriteFile(p, []byte(`hostname = "mx.a.test"
data_dir = "/tmp/x"
[outbound]
port = 2525
resolver = "127.0.0.1:5353"
smarthost = ""
[outbound.routes]
"b.test" = "127.0.0.1:2526"
`), 0o600)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	o := c.Outbound
	if o.Port != 2525 || o.Resolver != "127.0.0.1:5353" || o.Smarthost != "" || o.Routes["b.test"] != "127.0.0.1:2526" {
		t.Fatalf("outbound %+v", o)
	}
	if len(o.Retry) != 6 || o.MaxAge.Hours() != 120 {
		t.Fatalf("defaults %+v", o)
	}
}

func TestOutboundErrors(t *testing.T) {
	c := Default()
	c.Outbound.Port = 0
	c.Outbound.Resolver = "nohost"
	c.Outbound.Routes = map[string]string{"b.test": "bad"}
	c.Outbound.Retry = nil
	err := c.Validate()
	for _, key := range []string{"outbound.port", "outbound.resolver", "outbound.routes.b.test", "outbound.retry"} {
		if err == nil || !strings.Contains(err.Error(), key+":") {
			t.Errorf("no error for %s: %v", key, err)
		}
	}
}
