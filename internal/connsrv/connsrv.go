// Package connsrv is the accept loop, session tracking and graceful
// shutdown shared by the protocol servers Facteur writes itself (IMAP,
// POP3, ManageSieve), and their STARTTLS upgrade. Serve, Shutdown and
// Close mean what they mean for net/http: Shutdown stops accepting, lets
// sessions that wait for their client end at once and busy ones finish
// their command, and closes what is left when its context ends.
// Temporary accept errors (EMFILE, ECONNABORTED) are retried with
// backoff, as net/http does; a panic in a session ends that session only
// (Recover).
package connsrv

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"syscall"
	"time"
)

// Conn is one session as the server tracks it.
type Conn interface {
	// Serve runs the session to its end; it closes the connection.
	Serve()
	// Interrupt makes a session that waits for its client end soon (by
	// closing the connection, or by a read deadline in the past). It is
	// called with the server's lock held, when the server shuts down.
	Interrupt()
	// Close closes the connection at once; also called with the lock held.
	Close() error
}

// ErrServerClosed is returned by Serve after Close or Shutdown.
var ErrServerClosed = errors.New("server closed")

// Server tracks listeners and sessions. The zero value is ready to use.
type Server struct {
	Log *slog.Logger // accept errors; nil discards them

	mu        sync.Mutex
	listeners map[net.Listener]bool
	conns     map[Conn]bool // value: waiting for the client
	closing   bool
	done      sync.WaitGroup // running sessions
}

// Serve accepts connections on l and runs the session newConn makes of
// each in its own goroutine, until Close or Shutdown.
func (s *Server) Serve(l net.Listener, newConn func(net.Conn) Conn) error {
	if !s.track(l) {
		l.Close()
		return ErrServerClosed
	}
	defer s.untrack(l)
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.Closing() {
				return ErrServerClosed
			}
			if !temporary(err) {
				return err
			}
			delay = backoff(delay)
			s.logger().Warn("accept failed, retrying", "addr", l.Addr().String(), "err", err, "delay", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		sess := newConn(c)
		if !s.add(sess) {
			c.Close()
			continue
		}
		go func() {
			defer s.remove(sess)
			sess.Serve()
		}()
	}
}

// backoff is the wait after an accept error that followed one of delay:
// 5 ms doubling to 1 s, as net/http's Server.Serve.
func backoff(delay time.Duration) time.Duration {
	if delay == 0 {
		return 5 * time.Millisecond
	}
	return min(2*delay, time.Second)
}

// temporary reports whether an accept error may go away by itself: out of
// file descriptors or buffers, a connection reset before it was
// accepted, a timeout.
func temporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}

func (s *Server) logger() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// Recover, deferred by a session's serve, turns a panic into the end of
// that session only: it logs the panic with its stack, sends bye (the
// protocol's error line; nil for none) and closes c.
func Recover(log *slog.Logger, c io.Closer, bye func()) {
	r := recover()
	if r == nil {
		return
	}
	log.Error("session panic", "panic", r, "stack", string(debug.Stack()))
	if bye != nil {
		func() {
			defer func() { recover() }() // a broken session may panic again
			bye()
		}()
	}
	c.Close()
}

func (s *Server) track(l net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	if s.listeners == nil {
		s.listeners, s.conns = map[net.Listener]bool{}, map[Conn]bool{}
	}
	s.listeners[l] = true
	return true
}

func (s *Server) untrack(l net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.listeners, l)
}

// Closing reports whether Shutdown or Close was called.
func (s *Server) Closing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func (s *Server) add(c Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = false
	s.done.Add(1)
	return true
}

func (s *Server) remove(c Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.done.Done()
}

// SetIdle records whether c waits for its client (between commands, or
// in IMAP's IDLE). It returns false when the server is shutting down and
// c, idle, should end.
func (s *Server) SetIdle(c Conn, idle bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; ok {
		s.conns[c] = idle
	}
	return !(idle && s.closing)
}

// Locked runs f with the server's lock held: a session that replaces its
// connection (STARTTLS) does it in f, so that Interrupt and Close never
// see it half done.
func (s *Server) Locked(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

// StartTLS runs the server side of a TLS handshake over c (STARTTLS,
// STLS), bounded by ctx and timeout, and on success gives the session its
// TLS connection through set, under the server's lock (Locked). The
// connection has no deadline when it returns.
func (s *Server) StartTLS(ctx context.Context, c net.Conn, cfg *tls.Config, timeout time.Duration, set func(*tls.Conn)) error {
	tc := tls.Server(c, cfg)
	tc.SetDeadline(time.Now().Add(timeout))
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	tc.SetDeadline(time.Time{})
	s.Locked(func() { set(tc) })
	return nil
}

// stop closes the listeners and, with all, every connection; otherwise it
// interrupts the sessions that wait for their client.
func (s *Server) stop(all bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for l := range s.listeners {
		l.Close()
	}
	for c, idle := range s.conns {
		switch {
		case all:
			c.Close()
		case idle:
			c.Interrupt()
		}
	}
}

// Shutdown stops accepting, interrupts idle sessions and waits for busy
// ones to finish their command, until ctx ends; then it closes what
// remains.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stop(false)
	done := make(chan struct{})
	go func() {
		s.done.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.stop(true)
		<-done
		return ctx.Err()
	}
}

// Close closes the listeners and every connection at once, and waits for
// the sessions to end.
func (s *Server) Close() error {
	s.stop(true)
	s.done.Wait()
	return nil
}
