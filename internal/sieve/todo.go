package sieve

func dateSpecs() []*spec      { return nil }
func duplicateSpecs() []*spec { return nil }

func RejectMessage(in *Input, reason string) []byte { return nil }
