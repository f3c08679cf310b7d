package sieve

func dateSpecs() []*spec                         { return nil }
func duplicateSpecs() []*spec                    { return nil }
func includeSpecs() []*spec                      { return nil }
func (x *exec) globalNames() map[string]struct{} { return nil }

func RejectMessage(in *Input, reason string) []byte { return nil }
