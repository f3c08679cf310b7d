package sievebench

import (
	"bytes"
	"fmt"
	"strings"
)

// Script returns a script of n rules cycling through header, address,
// body and variables tests, none of which match Message, so every rule
// is evaluated.
func Script(n int) string {
	var b strings.Builder
	b.WriteString(`require ["fileinto", "variables", "body", "imap4flags", "relational", "comparator-i;ascii-numeric"];` + "\n")
	b.WriteString(`set "list" "announce";` + "\n")
	for i := range n {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "if header :contains \"subject\" \"invoice-%d\" { fileinto \"Invoices/%d\"; stop; }\n", i, i)
		case 1:
			fmt.Fprintf(&b, "if address :domain :is \"from\" \"vendor%d.example\" { addflag \"\\\\Flagged\"; fileinto \"Vendors\"; }\n", i)
		case 2:
			fmt.Fprintf(&b, "if body :contains \"unsubscribe-%d\" { fileinto \"Lists/%d\"; }\n", i, i)
		case 3:
			fmt.Fprintf(&b, "if header :matches \"list-id\" \"*<${list}-%d.lists.example>*\" { fileinto \"Lists/${list}\"; }\n", i)
		case 4:
			fmt.Fprintf(&b, "if anyof (address :localpart :is [\"to\", \"cc\"] \"team-%d\", header :value \"gt\" :comparator \"i;ascii-numeric\" \"x-priority\" \"%d\") { set \"tag\" \"%d\"; addflag \"$team${tag}\"; }\n", i, 100+i, i)
		}
	}
	return b.String()
}

// Message returns a 4 KiB message that no rule of Script matches.
func Message() []byte {
	var b bytes.Buffer
	b.WriteString("Return-Path: <alice@a.example>\r\nReceived: from mx.a.example by mx.b.example; Tue, 8 Dec 2026 10:00:00 +0000\r\n")
	b.WriteString("From: Alice <alice@a.example>\r\nTo: Bob <bob@b.example>\r\nCc: carol@b.example\r\nSubject: Quarterly numbers\r\n")
	b.WriteString("Date: Tue, 8 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@a.example>\r\nList-Id: Friends <friends.lists.example>\r\nX-Priority: 3\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	line := "The numbers for the quarter are in the attached sheet, as we said.\r\n"
	for b.Len() < 4096 {
		b.WriteString(line)
	}
	return b.Bytes()
}
