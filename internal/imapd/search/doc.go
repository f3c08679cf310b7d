// Package search implements the IMAP SEARCH, SORT and THREAD commands as
// pure functions over a mailbox's message metadata: parsing the criteria
// from an [imapwire.Decoder], evaluating them, ordering or threading the
// matches, and writing the untagged responses.
//
// Supported: every search key of RFC 9051 §6.4.4 and RFC 3501 §6.4.4
// (NEW, OLD and RECENT included), sequence sets, parenthesised lists, "$"
// (SEARCHRES, RFC 5182), MODSEQ (CONDSTORE, RFC 7162 §3.1.5), OLDER and
// YOUNGER (WITHIN, RFC 5032), SAVEDBEFORE, SAVEDON, SAVEDSINCE and
// SAVEDATESUPPORTED (RFC 8514), EMAILID and THREADID (RFC 8474); CHARSET
// UTF-8 and US-ASCII (others fail with [ErrBadCharset]); the ESEARCH
// return options MIN, MAX, ALL, COUNT and SAVE (RFC 4731, RFC 5182) and
// PARTIAL (RFC 5267 §4.4, with the negative ranges of RFC 9394); SORT
// (RFC 5256) with SORT=DISPLAY (RFC 5957) and ESORT (RFC 5267 §3);
// THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256).
//
// CONTEXT and UPDATE (RFC 5267 §4.2–4.3) are parsed and reported in
// [ReturnOpts] (Context, Update); the session keeps UPDATE searches live
// by running them again and sending the difference (imapd/context.go).
// FUZZY (RFC 6203) is not a key.
//
// # Use from a session
//
// The command handler reads the tag and command name, then:
//
//	cmd, err := search.Parse(dec, search.Search, search.Options{Rev2: rev2})
//	// err: errors.Is(err, search.ErrBadCharset) → NO [BADCHARSET (UTF-8 US-ASCII)];
//	// otherwise BAD (the error wraps imapwire.ErrSyntax), then DiscardLine.
//	dec.CRLF()
//	msgs := ... // []search.Msg in sequence order: the view's UIDs, flags and
//	            // MODSEQs; InternalDate, Size, EmailID … if cmd.NeedsRow();
//	            // Msg.Parsed's SORT/THREAD keys if cmd.NeedsParsed()
//	            // (store.KeySource gives them without decoding JSON)
//	res, err := cmd.Run(msgs, search.Env{
//		Text:  func(f store.TextField, needle string) ([]uint32, error) {
//			return st.SearchText(ctx, mailboxID, f, needle)
//		},
//		Saved: savedUIDs, // the "$" result (RFC 5182), UIDs
//		Now:   time.Now(),
//	})
//	if uids, ok := res.Save(); ok { savedUIDs = uids }
//	buf = res.Append(buf, tag, isUIDCommand, rev2)
//	// then the tagged OK
//
// For SORT and THREAD use [Sort] and [Thread] as the kind; the same Run and
// Append apply. Parse reads from just after the command name (it reads the
// SP itself) up to, not including, the CRLF.
//
// Text keys (BODY, TEXT, and the header keys FROM, TO, CC, BCC, SUBJECT
// and HEADER) call Env.Text once per key, which returns the UIDs of the
// mailbox that match; with a nil Env.Text they are evaluated on
// Msg.Parsed (its Text and Headers), which is what the tests do. Matching
// is case-insensitive substring search over decoded text (RFC 9051
// §6.4.4); header keys match a field of that name whose RFC 2047-decoded
// value contains the string.
//
// Dates: BEFORE, ON, SINCE and their SENT and SAVED forms compare calendar
// days, ignoring time and zone (RFC 9051 §6.4.4): the day of INTERNALDATE
// and of the save date in their own time zone, the day of the Date header
// as written. A message without a Date header never matches SENT* keys; a
// message with no save date (zero) matches no SAVED* key and not
// SAVEDATESUPPORTED.
package search
