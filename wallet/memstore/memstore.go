// Package memstore is a wallet.Store in memory: for tests, kiosks that
// must leave nothing behind, and the wasm tests that run under Node
// (which has no IndexedDB). The wallet seals records before they reach
// it, exactly as with wallet/sqlitestore and wallet/idbstore.
package memstore

import (
	"bytes"
	"context"
	"io/fs"
	"slices"
	"strings"
	"sync"
)

type record struct {
	kind, id string
	created  int64
	sealed   []byte
}

// Store is an in-memory wallet store, safe for concurrent use.
type Store struct {
	mu      sync.Mutex
	meta    map[string][]byte
	records map[string]*record // by id
}

// New returns an empty store.
func New() *Store {
	return &Store{meta: map[string][]byte{}, records: map[string]*record{}}
}

// Name says what the store is.
func (s *Store) Name() string { return "memory" }

// Meta returns a metadata value, or fs.ErrNotExist.
func (s *Store) Meta(_ context.Context, name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.meta[name]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return bytes.Clone(v), nil
}

// SetMeta sets metadata values at once; a nil value deletes.
func (s *Store) SetMeta(_ context.Context, values map[string][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range values {
		if v == nil {
			delete(s.meta, k)
		} else {
			s.meta[k] = bytes.Clone(v)
		}
	}
	return nil
}

// Put inserts or replaces a record; a replaced one keeps kind and time.
func (s *Store) Put(_ context.Context, kind, id string, created int64, sealed []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.records[id]; ok {
		r.sealed = bytes.Clone(sealed)
		return nil
	}
	s.records[id] = &record{kind: kind, id: id, created: created, sealed: bytes.Clone(sealed)}
	return nil
}

// Get returns a record's sealed bytes, or fs.ErrNotExist.
func (s *Store) Get(_ context.Context, kind, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[id]
	if !ok || r.kind != kind {
		return nil, fs.ErrNotExist
	}
	return bytes.Clone(r.sealed), nil
}

// List calls each for every record of kind ("" for all), by creation
// time, then id.
func (s *Store) List(_ context.Context, kind string, each func(kind, id string, created int64, sealed []byte) error) error {
	s.mu.Lock()
	var rs []record
	for _, r := range s.records {
		if kind == "" || r.kind == kind {
			rs = append(rs, record{r.kind, r.id, r.created, bytes.Clone(r.sealed)})
		}
	}
	s.mu.Unlock()
	slices.SortFunc(rs, func(a, b record) int {
		if a.created != b.created {
			if a.created < b.created {
				return -1
			}
			return 1
		}
		return strings.Compare(a.id, b.id)
	})
	for _, r := range rs {
		if err := each(r.kind, r.id, r.created, r.sealed); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes a record, or returns fs.ErrNotExist.
func (s *Store) Delete(_ context.Context, kind, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[id]
	if !ok || r.kind != kind {
		return fs.ErrNotExist
	}
	delete(s.records, id)
	return nil
}

// Close does nothing; the data stays until the Store is dropped.
func (s *Store) Close() error { return nil }
