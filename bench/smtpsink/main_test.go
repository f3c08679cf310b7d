package main

import (
	"net"
	"net/smtp"
	"strings"
	"testing"
)

func TestSinkCounts(t *testing.T) {
	var c counts
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(&c)
	go srv.Serve(l)
	defer srv.Close()
	for i := 0; i < 3; i++ {
		if err := smtp.SendMail(l.Addr().String(), nil, "a@x.test", []string{"b@y.test"}, []byte("Subject: x\r\n\r\nhello\r\n")); err != nil && !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatal(err)
		}
	}
	if c.msgs.Load() != 3 {
		t.Fatalf("counted %d messages", c.msgs.Load())
	}
}
