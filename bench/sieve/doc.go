// Package sievebench measures the Sieve interpreter: BenchmarkRun runs a
// generated 100-rule script (header, address, body and variables tests)
// on a 4 KiB message and reports messages per second per core, from the
// CPU time used:
//
//	go test ./bench/sieve -run '^$' -bench . -benchtime 20000x
//
// compare.sh measures delivery over SMTP with and without a 20-rule
// script active for the recipient (bench/smtpload against a throwaway
// server) and prints the ratio.
package sievebench
