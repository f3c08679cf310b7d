package sieve

func bodySpecs() []*spec                         { return nil }
func mailboxSpecs() []*spec                      { return nil }
func environmentSpecs() []*spec                  { return nil }
func dateSpecs() []*spec                         { return nil }
func spamtestSpecs(string) []*spec               { return nil }
func virustestSpecs() []*spec                    { return nil }
func ihaveSpecs() []*spec                        { return nil }
func editheaderSpecs() []*spec                   { return nil }
func vacationSpecs() []*spec                     { return nil }
func duplicateSpecs() []*spec                    { return nil }
func includeSpecs() []*spec                      { return nil }
func (x *exec) environment(string) string        { return "" }
func (x *exec) globalNames() map[string]struct{} { return nil }
func (x *exec) editedHeader() Edited             { return nil }

func RejectMessage(in *Input, reason string) []byte { return nil }
