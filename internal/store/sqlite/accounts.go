package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"time"

	"facteur.dev/facteur/internal/store"
)

// AddDomain adds a local domain.
func (s *Store) AddDomain(ctx context.Context, name string) error {
	defer s.domains.clear()
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO domains(name, created) VALUES(?, ?)", name, time.Now().Unix())
		return uniqueErr(err)
	})
}

// DeleteDomain removes a domain with its accounts and their mail.
func (s *Store) DeleteDomain(ctx context.Context, name string) error {
	defer s.domains.clear()
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// Accounts, mailboxes and messages go by ON DELETE CASCADE; the
		// messages' blob references are given back first, so that the
		// garbage collector can free their bytes.
		if _, err := tx.ExecContext(ctx, `UPDATE blobs SET refs = refs - (SELECT count(*) FROM messages m
			JOIN mailboxes b ON m.mailbox_id = b.id JOIN accounts a ON b.account_id = a.id
			WHERE a.domain = ? AND m.blob_id = blobs.id)
			WHERE id IN (SELECT m.blob_id FROM messages m JOIN mailboxes b ON m.mailbox_id = b.id
			JOIN accounts a ON b.account_id = a.id WHERE a.domain = ?)`, name, name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM aliases WHERE substr(address, -length(?) - 1) = '@' || ?", name, name); err != nil {
			return err
		}
		return mustAffect(tx.ExecContext(ctx, "DELETE FROM domains WHERE name = ?", name))
	})
}

// ListDomains returns the local domains in order.
func (s *Store) ListDomains(ctx context.Context) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT name FROM domains ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// HasDomain reports whether name is local. It is asked for every
// recipient, so the answer is kept for domainTTL: a domain added or removed
// by another process (the admin CLI) takes effect within that time, one
// changed by this process at once.
func (s *Store) HasDomain(ctx context.Context, name string) (bool, error) {
	if ok, hit := s.domains.get(name); hit {
		return ok, nil
	}
	var one int
	err := s.queryRow(ctx, "SELECT 1 FROM domains WHERE name = ?", name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		s.domains.put(name, false)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s.domains.put(name, true)
	return true, nil
}

// domainTTL bounds how stale HasDomain may be for changes made elsewhere.
const domainTTL = time.Second

// domainCache remembers HasDomain answers for domainTTL.
type domainCache struct {
	mu sync.Mutex
	m  map[string]domainEntry
}

type domainEntry struct {
	local bool
	until time.Time
}

func (c *domainCache) get(name string) (local, hit bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[name]
	if !ok || time.Now().After(e.until) {
		return false, false
	}
	return e.local, true
}

func (c *domainCache) put(name string, local bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = map[string]domainEntry{}
	}
	c.m[name] = domainEntry{local: local, until: time.Now().Add(domainTTL)}
}

func (c *domainCache) clear() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

// CreateAccount adds an account and its default mailboxes. Its domain must
// exist.
func (s *Store) CreateAccount(ctx context.Context, a store.Account) (store.Account, error) {
	a.Address = strings.ToLower(a.Address)
	domain := a.Address[strings.LastIndexByte(a.Address, '@')+1:]
	err := s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, "SELECT 1 FROM domains WHERE name = ?", domain).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrNotFound
			}
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO accounts(address, domain, password_hash, scram, quota_bytes, disabled, created)
			VALUES(?, ?, ?, ?, ?, ?, ?)`, a.Address, domain, a.PasswordHash, a.SCRAM, a.QuotaBytes, a.Disabled, time.Now().Unix())
		if err != nil {
			return uniqueErr(err)
		}
		if a.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		for _, mb := range store.DefaultMailboxes {
			if _, err := createMailbox(ctx, tx, a.ID, mb.Name, mb.SpecialUse); err != nil {
				return err
			}
			if err := subscribe(ctx, tx, a.ID, mb.Name); err != nil {
				return err
			}
		}
		return nil
	})
	return a, err
}

// DeleteAccount removes an account with all its mailboxes and messages.
func (s *Store) DeleteAccount(ctx context.Context, address string) error {
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE blobs SET refs = refs - (SELECT count(*) FROM messages m
			JOIN mailboxes b ON m.mailbox_id = b.id JOIN accounts a ON b.account_id = a.id
			WHERE a.address = ? AND m.blob_id = blobs.id)`, strings.ToLower(address)); err != nil {
			return err
		}
		return mustAffect(tx.ExecContext(ctx, "DELETE FROM accounts WHERE address = ?", strings.ToLower(address)))
	})
}

// SetPassword replaces an account's password hashes.
func (s *Store) SetPassword(ctx context.Context, address, hash, scram string) error {
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, "UPDATE accounts SET password_hash = ?, scram = ? WHERE address = ?",
			hash, scram, strings.ToLower(address)))
	})
}

// SetQuota sets an account's quota in bytes; 0 is unlimited.
func (s *Store) SetQuota(ctx context.Context, address string, bytes int64) error {
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, "UPDATE accounts SET quota_bytes = ? WHERE address = ?",
			bytes, strings.ToLower(address)))
	})
}

// SetDisabled implements store.Accounts.
func (s *Store) SetDisabled(ctx context.Context, address string, disabled bool) error {
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, "UPDATE accounts SET disabled = ? WHERE address = ?",
			disabled, strings.ToLower(address)))
	})
}

const accountCols = "id, address, password_hash, scram, quota_bytes, used_bytes, disabled"

func scanAccount(row interface{ Scan(...any) error }) (store.Account, error) {
	var a store.Account
	err := row.Scan(&a.ID, &a.Address, &a.PasswordHash, &a.SCRAM, &a.QuotaBytes, &a.UsedBytes, &a.Disabled)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	return a, err
}

// LookupAccount finds an account by address (case-insensitive).
func (s *Store) LookupAccount(ctx context.Context, address string) (store.Account, error) {
	return scanAccount(s.queryRow(ctx, "SELECT "+accountCols+" FROM accounts WHERE address = ?",
		strings.ToLower(address)))
}

// ListAccounts lists accounts, of one domain unless domain is "".
func (s *Store) ListAccounts(ctx context.Context, domain string) ([]store.Account, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+accountCols+" FROM accounts WHERE ? = '' OR domain = ? ORDER BY address",
		domain, domain)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// AddAlias adds targets to an alias, creating it if needed.
func (s *Store) AddAlias(ctx context.Context, address string, targets []string) error {
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, t := range targets {
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO aliases(address, target) VALUES(?, ?)",
				strings.ToLower(address), t); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteAlias removes an alias with all its targets.
func (s *Store) DeleteAlias(ctx context.Context, address string) error {
	return s.commit.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, "DELETE FROM aliases WHERE address = ?", strings.ToLower(address)))
	})
}

// ListAliases returns every alias with its targets.
func (s *Store) ListAliases(ctx context.Context) ([]store.Alias, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT address, target FROM aliases ORDER BY address, target")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Alias
	for rows.Next() {
		var addr, t string
		if err := rows.Scan(&addr, &t); err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].Address == addr {
			out[n-1].Targets = append(out[n-1].Targets, t)
		} else {
			out = append(out, store.Alias{Address: addr, Targets: []string{t}})
		}
	}
	return out, rows.Err()
}

// AliasTargets returns the targets of one alias, or ErrNotFound.
func (s *Store) AliasTargets(ctx context.Context, address string) ([]string, error) {
	rows, err := s.query(ctx, "SELECT target FROM aliases WHERE address = ? ORDER BY target",
		strings.ToLower(address))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, store.ErrNotFound
	}
	return out, nil
}

func uniqueErr(err error) error {
	if err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return store.ErrExists
	}
	if err != nil && strings.Contains(err.Error(), "PRIMARY KEY") {
		return store.ErrExists
	}
	return err
}

func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}
