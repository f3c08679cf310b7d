package main

import (
	"strings"
	"testing"
)

// Names are normalised the same way by add and del: an internationalised
// domain in either form, any case.
func TestAdminDeleteNormalisesNames(t *testing.T) {
	in := newInstance(t)
	in.admin("", "domain", "add", "bücher.test")
	in.admin("a long password\n", "user", "add", "--password-stdin", "Anna@xn--bcher-kva.test")
	in.admin("", "alias", "add", "@XN--BCHER-KVA.test", "anna@bücher.test")
	if out := in.admin("", "alias", "del", "@BÜCHER.test"); !strings.Contains(out, "@bücher.test deleted") {
		t.Fatalf("alias del: %q", out)
	}
	if out := in.admin("", "user", "del", "ANNA@xn--bcher-kva.test"); !strings.Contains(out, "anna@bücher.test deleted") {
		t.Fatalf("user del: %q", out)
	}
	if out := in.admin("", "domain", "del", "XN--BCHER-KVA.TEST"); !strings.Contains(out, "bücher.test deleted") {
		t.Fatalf("domain del: %q", out)
	}
	if out := in.admin("", "domain", "list"); strings.Contains(out, "bücher") {
		t.Fatalf("domain still listed: %q", out)
	}
}
