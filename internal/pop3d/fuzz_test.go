package pop3d

import (
	"testing"

	"facteur.dev/facteur/internal/testutil"
)

// FuzzSession drives a whole POP3 session with arbitrary client bytes,
// logged in or not: the server must neither crash nor hang, and must still
// serve a well-behaved client afterwards.
func FuzzSession(f *testing.F) {
	login := "USER alice@example.test\r\nPASS " + password + "\r\n"
	f.Add(login + "STAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 1 0\r\nDELE 1\r\nRSET\r\nQUIT\r\n")
	f.Add(login + "LIST 99999999999999999999\r\nTOP 1 -1\r\nTOP 1 x\r\nDELE 0\r\nDELE 1\r\nDELE 1\r\nRETR 1\r\nQUIT\r\n")
	f.Add("CAPA\r\nUTF8\r\nAUTH PLAIN\r\n*\r\nAUTH SCRAM-SHA-256 biwsbj1hbGljZUBleGFtcGxlLnRlc3Qscj1yYW5kb20=\r\n=\r\n")
	f.Add("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABjb3JyZWN0IGhvcnNlIGJhdHRlcnk=\r\nUIDL 1\r\nTOP 1 1\r\nNOOP\r\n")
	f.Add("STLS\r\n\x16\x03\x01\x00\x05hello")
	f.Add("user\r\npass\r\nauth\r\n\xff\xfe\x00\r\n\n\r\r\n")
	e := newEnv(f)
	e.deliver("alice@example.test", "Subject: a\r\n\r\n.dot\r\nbody\r\n")
	e.deliver("alice@example.test", "no header\n.\n")
	_, addr := e.start(func(o *Options) { o.PlaintextNetworks, o.MaxConnsPerIP = loopback, 1000 })
	f.Fuzz(func(t *testing.T, input string) {
		testutil.SendAll(t, addr, input)
		ok := dial(t, addr)
		ok.multi("CAPA")
		ok.ok("QUIT")
	})
}
