// Package imapwire reads IMAP commands and writes IMAP responses
// (IMAP4rev2, RFC 9051; IMAP4rev1, RFC 3501).
//
// The [Decoder] does not build a syntax tree: each command handler pulls
// its own arguments (Tag, Atom, SP, AString, List, SeqSet, Literal, CRLF),
// so a handler such as APPEND can stream a literal into storage instead of
// holding it in memory.
//
// # Command lifecycle
//
// A session loop calls [Decoder.Tag], then [Decoder.Atom] for the command
// name, then the handler's argument methods, then [Decoder.CRLF]. When any
// method fails, the session replies with a tagged BAD (or NO) and calls
// [Decoder.DiscardLine] before reading the next command, unless
// [IsFatal] reports that the connection cannot continue; then it sends
// "* BYE" and closes.
//
// # Literals and continuation requests
//
// The decoder sends a continuation request (by calling the cont function
// given to [NewDecoder]) only inside [Decoder.Accept] for a synchronizing
// literal ({N}), and only once per literal. [Decoder.Reject] and
// [Decoder.DiscardLine] never send one: for a synchronizing literal the
// client is still waiting, so the command ends there and the tagged
// response is what the client reads next (RFC 9051 §7.5). A
// non-synchronizing literal ({N+}, RFC 7888) is always followed by its
// data, so rejecting it skips N bytes, or, when N is over
// Limits.MaxLiteral, fails with an error wrapping [ErrFatal] (RFC 7888 §4
// lets the server close the connection).
//
// # Limits
//
// The decoder never allocates more than the [Limits] allow: a command's
// bytes outside literals are bounded by MaxLine, strings read into memory
// by MaxInline (each) and MaxInlineTotal (per command), and the number of
// literals by MaxLiterals. Streams returned by Accept are bounded by
// MaxLiteral but are not buffered.
package imapwire
