package sieve

// RejectMessage is provided by the interpreter's branch; this placeholder
// lets the delivery side build until they meet.
func RejectMessage(in *Input, reason string) []byte { return nil }
