package sessions

import "testing"

func TestRegistry(t *testing.T) {
	var r Registry
	ended := map[string]int{}
	end := func(name string) func() { return func() { ended[name]++ } }
	r.Add("Alice@a.test", end("a1"))
	removeA2 := r.Add("alice@a.test", end("a2"))
	r.Add("bob@b.test", end("b"))
	r.Add("carol@a.test", end("c"))
	removeA2()
	if n := r.End("ALICE@a.test"); n != 1 || ended["a1"] != 1 || ended["a2"] != 0 {
		t.Fatalf("End: %d, ended %v", n, ended)
	}
	if n := r.End("alice@a.test"); n != 0 {
		t.Fatalf("ended twice: %d", n)
	}
	if n := r.EndDomain("A.test"); n != 1 || ended["c"] != 1 || ended["b"] != 0 {
		t.Fatalf("EndDomain: %d, ended %v", n, ended)
	}
	var none *Registry
	none.Add("x@y.test", end("x"))()
	if none.End("x@y.test") != 0 {
		t.Fatal("a nil registry ended something")
	}
}
