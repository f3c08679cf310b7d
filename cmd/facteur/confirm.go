package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"facteur.dev/facteur/internal/store"
)

// mailOf counts the messages and bytes of the accounts.
func mailOf(ctx context.Context, s store.Store, accts []store.Account) (msgs, bytes int64, err error) {
	for _, a := range accts {
		mbs, err := s.ListMailboxes(ctx, a.ID)
		if err != nil {
			return 0, 0, err
		}
		for _, mb := range mbs {
			msgs += mb.Messages
			bytes += mb.Size
		}
	}
	return msgs, bytes, nil
}

// confirmDelete asks before what deletes mail: on a terminal, a question;
// otherwise --yes must have been given (issue 16 §11).
func confirmDelete(e *env, what string, msgs, bytes int64, yes bool) error {
	loss := fmt.Sprintf("%s and its %d message(s), %s", what, msgs, humanBytes(bytes))
	if yes {
		return nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return usagef("this deletes %s: add --yes to do it", loss)
	}
	fmt.Fprintf(e.stdout, "Delete %s? [y/N] ", loss)
	line, _ := bufio.NewReader(e.stdin).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return fmt.Errorf("%s not deleted", what)
	}
	return nil
}

// humanBytes is a size as people read it: 0 bytes, 512 bytes, 3.4 MB.
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	v, i := float64(n), 0
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %cB", v, "kMGT"[i-1])
}
