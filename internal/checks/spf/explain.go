package spf

import "context"

// explain evaluates the exp= of the record that decided a fail: the last
// record of the redirect chain (RFC 7208 §6.2). Its domain-spec is
// expanded and its TXT record fetched and expanded in turn, where c, r and
// t may be used as well. A DNS error, no record or more than one, or a
// syntax error in the text (non-ASCII included) all mean no explanation,
// as if there were no exp=. This lookup is made after the result is
// known, so it counts against no limit (§4.6.4).
func (e *evaluation) explain(ctx context.Context) string {
	rec := e.chain.rec
	if rec == nil || rec.exp == "" {
		return ""
	}
	env := e.envFor(ctx, e.chain.domain)
	name, err := expandTarget(rec.exp, env)
	if err != nil {
		return ""
	}
	txts, err := e.lookupTXT(ctx, name)
	if err != nil || len(txts) != 1 {
		return ""
	}
	text, _, err := expandMacros(txts[0], explainLetters, env)
	if err != nil {
		return ""
	}
	return text
}
