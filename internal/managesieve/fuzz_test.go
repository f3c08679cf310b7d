package managesieve

import (
	"bufio"
	"errors"
	"strings"
	"testing"

	"facteur.dev/facteur/internal/testutil"
)

// FuzzCommand reads commands from arbitrary bytes until the input ends
// or the parser gives up: it must not panic, hold more than it allows,
// or return arguments the grammar does not give.
func FuzzCommand(f *testing.F) {
	for _, seed := range []string{
		"PUTSCRIPT \"x\" {5+}\r\nkeep;\r\nLISTSCRIPTS\r\n",
		"RENAMESCRIPT {1}\r\na {2+}\r\nbc\r\nNOOP \"t\\\"\"\r\n",
		"NOOP \"unterminated {3+}\r\nabc\r\nHAVESPACE \"x\" 99999999999\r\n",
		"AUTHENTICATE \"PLAIN\" \"AGFsaWNlAHB3\"\r\n\"*\"\r\n{0+}\r\n\r\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		p := parser{r: bufio.NewReader(strings.NewReader(input)), maxLine: 256, maxLiteral: 64,
			onSync: func() error { return nil }}
		for range 100 {
			name, args, err := p.command()
			var ce *commandError
			if errors.As(err, &ce) {
				continue
			}
			if err != nil {
				return
			}
			if len(args) > maxArgs || name != strings.ToUpper(name) {
				t.Fatalf("command %q with %d arguments", name, len(args))
			}
			for _, a := range args {
				if !a.atom && len(a.s) > max(maxQuoted, 64) {
					t.Fatalf("an argument of %d octets past the limits", len(a.s))
				}
			}
		}
	})
}

// FuzzSession drives a whole session with arbitrary client bytes from a
// plaintext network: the server must neither crash nor hang, and must
// still serve a well-behaved client afterwards.
func FuzzSession(f *testing.F) {
	login := "AUTHENTICATE \"PLAIN\" \"" + plain("alice@example.test", password) + "\"\r\n"
	f.Add(login + "PUTSCRIPT \"a\" {5+}\r\nkeep;\r\nSETACTIVE \"a\"\r\nGETSCRIPT \"a\"\r\nDELETESCRIPT \"a\"\r\nLOGOUT\r\n")
	f.Add(login + "HAVESPACE \"a\" 1\r\nRENAMESCRIPT \"a\" \"b\"\r\nCHECKSCRIPT {5}\r\nerror\r\nUNAUTHENTICATE\r\n")
	f.Add("AUTHENTICATE \"SCRAM-SHA-256\" \"biwsbj1hbGljZUBleGFtcGxlLnRlc3Qscj1h\"\r\n\"*\"\r\nSTARTTLS\r\n\x16\x03\x01")
	e := newEnv(f, func(o *Options) { o.PlaintextNetworks, o.MaxConnsPerIP, o.MaxScriptSize = loopback, 1000, 1024 })
	f.Fuzz(func(t *testing.T, input string) {
		testutil.SendAll(t, e.addr, input)
		ok := &client{e.dialT(t), t}
		ok.expect("", "OK")
		ok.expect("LOGOUT", "OK")
	})
}
