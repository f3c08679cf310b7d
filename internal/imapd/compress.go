package imapd

import (
	"strings"

	"facteur.dev/facteur/internal/imapd/compress"
	"facteur.dev/facteur/internal/imapd/imapwire"
)

// COMPRESS=DEFLATE (RFC 4978), offered after login. Tested with mbsync,
// which uses it whenever the server offers it (cmd/facteur's mbsync test).

func init() {
	commands["COMPRESS"] = handler{stateAuth | stateSelected, (*session).compressCmd, false}
}

// compressCmd: RFC 4978 §3. After the tagged OK, sent uncompressed, both
// directions are raw DEFLATE; what the client sent after the command is
// read through the decompressor.
func (s *session) compressCmd(c *cmd) error {
	var mech string
	err := s.args(func() (err error) {
		mech, err = s.dec.Atom()
		return err
	})
	switch {
	case err != nil:
		return err
	case !strings.EqualFold(mech, "DEFLATE"):
		return bad("Unknown compression mechanism %s", mech)
	case s.compressed:
		return no("COMPRESSIONACTIVE", "Compression is already on") // RFC 4978 §3
	}
	s.enc.Raw(c.tag + " OK DEFLATE active\r\n")
	if err := s.enc.Flush(); err != nil {
		return err
	}
	in := compress.NewReader(s.dec.Reader())
	s.srv.conns.Locked(func() {
		s.dec = imapwire.NewDecoder(in, s.continuation, s.srv.opts.Limits)
		s.enc = imapwire.NewEncoder(compress.NewWriter(s.conn))
		s.enc.UTF8 = s.utf8Mode()
	})
	s.compressed = true
	return errHandled
}
