// Package compress is the stream layer of IMAP COMPRESS=DEFLATE (RFC 4978):
// raw DEFLATE (RFC 1951, no zlib header) in each direction, started right
// after the server's tagged OK to "COMPRESS DEFLATE" (RFC 4978 §3).
//
// The reader is klauspost/compress's inflater with partial-block reads:
// clients such as Apple Mail end each command with zlib's Z_PARTIAL_FLUSH,
// after which Go's standard compress/flate reader waits for more input
// before returning what it has already decoded (golang/go#31514), so the
// server would never see the command it must answer. The writer ends every
// batch of responses with a sync flush (RFC 4978 §4: the server must flush
// so that the client can decode each response when it arrives).
package compress

import (
	"io"

	"github.com/klauspost/compress/flate"
)

// Level trades CPU for bandwidth; mail is mostly text and compresses well
// at the fastest level.
const Level = flate.BestSpeed

// NewReader decompresses r. r must be the reader the session already used
// (a bufio.Reader), since it may hold the first compressed bytes.
func NewReader(r io.Reader) io.ReadCloser {
	return flate.NewReaderOpts(r, flate.WithPartialBlock())
}

// Writer compresses into an underlying writer.
type Writer struct {
	fw *flate.Writer
}

// NewWriter compresses into w.
func NewWriter(w io.Writer) *Writer {
	fw, _ := flate.NewWriter(w, Level) // only fails for an invalid level
	return &Writer{fw: fw}
}

// Write compresses p; nothing reaches the connection before Flush.
func (w *Writer) Write(p []byte) (int, error) { return w.fw.Write(p) }

// Flush sends everything written so far as a complete, decodable unit
// (a sync flush: an empty stored block).
func (w *Writer) Flush() error { return w.fw.Flush() }

// Close ends the compressed stream.
func (w *Writer) Close() error { return w.fw.Close() }
