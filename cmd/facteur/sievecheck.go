package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"facteur.dev/facteur/internal/sieve"
)

// sieveCheck compiles FILE ("-" for standard input) and prints each error
// as "FILE:LINE:COLUMN: message"; the error it returns (exit status 1)
// counts them. Scripts named by include are looked up beside FILE, as
// personal scripts, with the ".sieve" suffix added when missing.
func sieveCheck(e *env, file string) error {
	var src []byte
	var err error
	if file == "-" {
		src, err = io.ReadAll(e.stdin)
	} else {
		src, err = os.ReadFile(file)
	}
	if err != nil {
		return err
	}
	dir := filepath.Dir(file)
	_, err = sieve.Compile(src, &sieve.CompileOptions{Name: filepath.Base(file), Include: func(name string, global bool) ([]byte, error) {
		if global {
			return nil, errors.New("global scripts are not checked here")
		}
		if filepath.Ext(name) != ".sieve" {
			name += ".sieve"
		}
		return os.ReadFile(filepath.Join(dir, filepath.Base(name)))
	}})
	var list sieve.ErrorList
	if errors.As(err, &list) {
		for _, ce := range list {
			fmt.Fprintf(e.stdout, "%s:%d:%d: %s\n", file, ce.Line, ce.Column, ce.Msg)
		}
		return fmt.Errorf("%s: %d error(s)", file, len(list))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: OK\n", file)
	return nil
}
