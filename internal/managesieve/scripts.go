package managesieve

import (
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"facteur.dev/facteur/internal/store"
)

// storeErr turns a store error into the response RFC 5804 §1.3 asks
// for; what is unexpected is logged and answered TRYLATER.
func (s *session) storeErr(err error, name string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return refuse("NONEXISTENT", "There is no script %s", quote(name))
	case errors.Is(err, store.ErrExists):
		return refuse("ALREADYEXISTS", "A script %s already exists", quote(name))
	case errors.Is(err, store.ErrSieveActive):
		return refuse("ACTIVE", "The script is active: deactivate it first")
	case errors.Is(err, store.ErrSieveTooMany):
		return refuse("QUOTA/MAXSCRIPTS", "At most %d scripts", s.srv.opts.MaxScripts)
	case errors.Is(err, store.ErrSieveTooLarge):
		return refuse("QUOTA/MAXSIZE", "A script may have at most %d octets", s.srv.opts.MaxScriptSize)
	case errors.Is(err, store.ErrSieveName):
		return refuse("", "%v", err)
	}
	s.log.Warn("managesieve store", "account", s.account.Address, "err", err)
	return refuse("TRYLATER", "The scripts cannot be reached now, try again later")
}

func (s *session) limits() store.SieveLimits {
	return store.SieveLimits{MaxScripts: s.srv.opts.MaxScripts, MaxSize: s.srv.opts.MaxScriptSize}
}

// haveSpace: RFC 5804 §2.5. The answer is advice: PUTSCRIPT checks again.
func (s *session) haveSpace(args []arg) error {
	if len(args) != 2 || args[0].atom || !args[1].atom {
		return refuse("", "Usage: HAVESPACE name size")
	}
	size, ok := parseNumber(args[1].s)
	if !ok {
		return refuse("", "Bad size")
	}
	if err := store.CheckSieveName(args[0].s); err != nil {
		return s.storeErr(err, args[0].s)
	}
	if size > s.srv.opts.MaxScriptSize {
		return s.storeErr(store.ErrSieveTooLarge, "")
	}
	list, err := s.srv.opts.Store.ListSieveScripts(s.ctx, s.account.ID)
	if err != nil {
		return s.storeErr(err, "")
	}
	exists := slices.ContainsFunc(list, func(sc store.SieveScript) bool { return sc.Name == args[0].s })
	if !exists && len(list) >= s.srv.opts.MaxScripts {
		return s.storeErr(store.ErrSieveTooMany, "")
	}
	s.respond("OK", "", "Putscript would succeed")
	return nil
}

// check runs the checks every script passes before it is stored: size,
// UTF-8 (RFC 5228 §2.2: scripts are UTF-8) and the Checker. It returns
// the warnings of a script that passes with some.
func (s *session) check(name string, script []byte) (warnings string, err error) {
	if int64(len(script)) > s.srv.opts.MaxScriptSize {
		return "", s.storeErr(store.ErrSieveTooLarge, name)
	}
	if !utf8.Valid(script) {
		return "", refuse("", "The script is not valid UTF-8")
	}
	if s.srv.opts.Checker == nil {
		return "", nil
	}
	err = s.srv.opts.Checker.Check(s.ctx, *s.account, name, script)
	var w *Warnings
	switch {
	case errors.As(err, &w):
		return w.Text, nil
	case err != nil:
		return "", refuse("", "%s", err.Error())
	}
	return "", nil
}

// okWarnings ends a PUTSCRIPT or CHECKSCRIPT that passed.
func (s *session) okWarnings(warnings, done string) {
	if warnings != "" {
		s.respond("OK", "WARNINGS", warnings)
		return
	}
	s.respond("OK", "", done)
}

// putScript: RFC 5804 §2.6. A script that fails its checks is not
// stored: the scripts, and which one is active, stay as they were.
func (s *session) putScript(args []arg) error {
	a, err := stringArgs("PUTSCRIPT", args, 2)
	if err != nil {
		return err
	}
	name, script := a[0], []byte(a[1])
	if err := store.CheckSieveName(name); err != nil {
		return s.storeErr(err, name)
	}
	warnings, err := s.check(name, script)
	if err != nil {
		return err
	}
	if err := s.srv.opts.Store.PutSieveScript(s.ctx, s.account.ID, name, script, s.limits()); err != nil {
		return s.storeErr(err, name)
	}
	s.okWarnings(warnings, "Putscript completed")
	return nil
}

// checkScript: RFC 5804 §2.12, the checks of PUTSCRIPT without storing.
func (s *session) checkScript(args []arg) error {
	a, err := stringArgs("CHECKSCRIPT", args, 1)
	if err != nil {
		return err
	}
	warnings, err := s.check("", []byte(a[0]))
	if err != nil {
		return err
	}
	s.okWarnings(warnings, "Script is valid")
	return nil
}

// listScripts: RFC 5804 §2.7.
func (s *session) listScripts(args []arg) error {
	if len(args) != 0 {
		return refuse("", "LISTSCRIPTS takes no arguments")
	}
	list, err := s.srv.opts.Store.ListSieveScripts(s.ctx, s.account.ID)
	if err != nil {
		return s.storeErr(err, "")
	}
	for _, sc := range list {
		s.w.WriteString(quote(sc.Name))
		if sc.Active {
			s.w.WriteString(" ACTIVE")
		}
		s.w.WriteString("\r\n")
	}
	s.respond("OK", "", "Listscripts completed")
	return nil
}

// setActive: RFC 5804 §2.8; "" deactivates.
func (s *session) setActive(args []arg) error {
	a, err := stringArgs("SETACTIVE", args, 1)
	if err != nil {
		return err
	}
	if err := s.srv.opts.Store.SetActiveSieveScript(s.ctx, s.account.ID, a[0]); err != nil {
		return s.storeErr(err, a[0])
	}
	s.respond("OK", "", "Setactive completed")
	return nil
}

// getScript: RFC 5804 §2.9, the content as a literal.
func (s *session) getScript(args []arg) error {
	a, err := stringArgs("GETSCRIPT", args, 1)
	if err != nil {
		return err
	}
	content, err := s.srv.opts.Store.GetSieveScript(s.ctx, s.account.ID, a[0])
	if err != nil {
		return s.storeErr(err, a[0])
	}
	fmt.Fprintf(s.w, "{%d}\r\n", len(content))
	s.w.Write(content)
	s.w.WriteString("\r\n")
	s.respond("OK", "", "Getscript completed")
	return nil
}

// deleteScript: RFC 5804 §2.10; NO (ACTIVE) for the active script.
func (s *session) deleteScript(args []arg) error {
	a, err := stringArgs("DELETESCRIPT", args, 1)
	if err != nil {
		return err
	}
	if err := s.srv.opts.Store.DeleteSieveScript(s.ctx, s.account.ID, a[0]); err != nil {
		return s.storeErr(err, a[0])
	}
	s.respond("OK", "", "Deletescript completed")
	return nil
}

// renameScript: RFC 5804 §2.11.1.
func (s *session) renameScript(args []arg) error {
	a, err := stringArgs("RENAMESCRIPT", args, 2)
	if err != nil {
		return err
	}
	err = s.srv.opts.Store.RenameSieveScript(s.ctx, s.account.ID, a[0], a[1])
	if errors.Is(err, store.ErrExists) {
		return s.storeErr(err, a[1])
	}
	if err := s.storeErr(err, a[0]); err != nil {
		return err
	}
	s.respond("OK", "", "Renamescript completed")
	return nil
}
