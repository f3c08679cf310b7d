package sieve

func RejectMessage(in *Input, reason string) []byte { return nil }
