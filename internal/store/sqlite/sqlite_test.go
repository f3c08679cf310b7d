package sqlite

import (
	"context"
	"testing"

	"facteur.dev/facteur/internal/store"
	"facteur.dev/facteur/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), t.TempDir(), Options{Fsync: false, Owner: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
