// Command dnsserve is a DNS server on loopback for benchmarks: it serves
// the records of a file in zone-file syntax (one record a line, "#"
// comments) until interrupted, and prints its address.
//
//	go run ./bench/dnsserve -addr 127.0.0.1:5353 -zone records.txt
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"facteur.dev/facteur/internal/dns/dnstest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "`host:port` to serve on, UDP and TCP")
	zone := flag.String("zone", "", "file of records in zone-file syntax (required)")
	flag.Parse()
	if err := run(*addr, *zone); err != nil {
		fmt.Fprintln(os.Stderr, "dnsserve:", err)
		os.Exit(1)
	}
}

func run(addr, zone string) error {
	if zone == "" {
		return fmt.Errorf("-zone is required")
	}
	f, err := os.Open(zone)
	if err != nil {
		return err
	}
	defer f.Close()
	srv, err := dnstest.Start(addr)
	if err != nil {
		return err
	}
	defer srv.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := addRecord(srv, line); err != nil {
			return err
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	fmt.Printf("dnsserve: %d records on %s\n", n, srv.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	fmt.Printf("dnsserve: %d queries answered\n", srv.Queries())
	return nil
}

// addRecord adds one record, turning dnstest's panic on a bad one into
// an error.
func addRecord(srv *dnstest.Server, line string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	srv.Add(line)
	return nil
}
