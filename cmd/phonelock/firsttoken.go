package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/phonelock/phonelock/store"
)

// tokenFile is where the daemon writes the first admin token: the
// token-file setting, by default the database's path with its extension
// replaced by .token; "" when it writes none.
func (c *serveConfig) tokenFile() string {
	switch c.TokenFile {
	case "none":
		return ""
	case "":
		return strings.TrimSuffix(c.DB, filepath.Ext(c.DB)) + ".token"
	}
	return c.TokenFile
}

// firstToken gives a database without tokens its first admin token, so
// that the admin API can be used at all: it creates the token and writes
// its secret to path, readable by the daemon's user only. A database that
// has a token, revoked ones aside, is left alone, and so is one when path
// is "". The secret is never logged.
func firstToken(st *store.Store, path string, log *slog.Logger) error {
	if path == "" {
		return nil
	}
	n, err := st.TokenCount()
	if err != nil || n > 0 {
		return err
	}

	actor := store.Actor{Name: "phonelock serve", Source: "serve"}
	tok, secret, err := st.CreateToken("first-admin", "admin", time.Time{}, actor)
	if err != nil {
		return err
	}
	if err := writeSecretFile(path, secret); err != nil {
		// A token nobody can read would only be a risk.
		return errors.Join(fmt.Errorf("write the first admin token: %w", err), st.RevokeToken(tok.ID, actor))
	}
	log.Info("the database had no admin token: wrote one", "file", path, "token_id", tok.ID)
	return nil
}

// writeSecretFile replaces path with a file holding secret and a newline,
// with mode 0600, written in full or not at all.
func writeSecretFile(path, secret string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // gone after the rename; removes a failed write
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	_, err = tmp.WriteString(secret + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
