package did

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"
)

// Cache defaults.
const (
	DefaultCacheTTL     = 5 * time.Minute
	DefaultNotFoundTTL  = 30 * time.Second
	DefaultCacheEntries = 1024
	// DefaultCacheBytes bounds a Cache's estimated memory: documents are
	// up to 64 KiB, so entries alone do not bound it.
	DefaultCacheBytes    = 16 << 20
	maxCacheKeyOptionLen = MaxLength
)

// CacheConfig configures a [Cache].
type CacheConfig struct {
	// Resolver is the resolver whose answers are cached. Required.
	Resolver Resolver
	// TTL is how long a resolved document is kept; 0 means DefaultCacheTTL.
	TTL time.Duration
	// NotFoundTTL is how long a CodeNotFound answer is kept (so a flood of
	// lookups of a missing DID does not reach the registry); 0 means
	// DefaultNotFoundTTL. It must not exceed TTL. No other error is cached,
	// and neither is a deactivated DID.
	NotFoundTTL time.Duration
	// MaxEntries bounds the cache; the least recently used entry goes
	// first. 0 means DefaultCacheEntries.
	MaxEntries int
	// MaxBytes bounds the cache's estimated memory (each entry's key and
	// its result, estimated from the result's JSON size); the least
	// recently used entries go first, and a result larger than the bound
	// is not kept. 0 means DefaultCacheBytes.
	MaxBytes int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Cache is a [Resolver] that keeps the answers of another for a while. Keys
// are the DID and the resolution options. Concurrent misses for the same key
// share one call to the upstream resolver. Every call returns a fresh deep
// copy, so callers may modify what they get.
//
// A Cache is safe for concurrent use.
type Cache struct {
	next        Resolver
	ttl         time.Duration
	notFoundTTL time.Duration
	max         int
	maxBytes    int64
	now         func() time.Time

	mu       sync.Mutex
	used     int64      // estimated bytes of the entries
	lru      *list.List // of *cacheEntry, most recent first
	entries  map[string]*list.Element
	inflight map[string]*cacheCall
}

type cacheEntry struct {
	key     string
	res     *Result
	err     error
	expires time.Time
	size    int64
}

type cacheCall struct {
	done chan struct{}
	res  *Result
	err  error
}

var _ Resolver = (*Cache)(nil)

// NewCache returns a caching resolver.
func NewCache(cfg CacheConfig) (*Cache, error) {
	if cfg.Resolver == nil {
		return nil, errors.New("did: CacheConfig.Resolver is required")
	}
	if cfg.TTL < 0 || cfg.NotFoundTTL < 0 || cfg.MaxEntries < 0 || cfg.MaxBytes < 0 {
		return nil, errors.New("did: CacheConfig values must not be negative")
	}
	c := &Cache{
		next: cfg.Resolver, ttl: cfg.TTL, notFoundTTL: cfg.NotFoundTTL, max: cfg.MaxEntries, maxBytes: cfg.MaxBytes, now: cfg.Now,
		lru: list.New(), entries: make(map[string]*list.Element), inflight: make(map[string]*cacheCall),
	}
	if c.ttl == 0 {
		c.ttl = DefaultCacheTTL
	}
	if c.notFoundTTL == 0 {
		c.notFoundTTL = DefaultNotFoundTTL
	}
	if c.notFoundTTL > c.ttl {
		return nil, errors.New("did: CacheConfig.NotFoundTTL must not exceed TTL")
	}
	if c.max == 0 {
		c.max = DefaultCacheEntries
	}
	if c.maxBytes == 0 {
		c.maxBytes = DefaultCacheBytes
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

func cacheKey(did string, o ResolveOptions) string {
	k := did + "\x00" + o.Accept + "\x00" + o.VersionID + "\x00" + strconv.FormatBool(o.ExpandRelativeURLs)
	if !o.VersionTime.IsZero() {
		k += "\x00" + o.VersionTime.UTC().Format(time.RFC3339Nano)
	}
	return k
}

// Resolve implements [Resolver].
func (c *Cache) Resolve(ctx context.Context, did string, opts ResolveOptions) (*Result, error) {
	if len(did) > MaxLength || len(opts.Accept) > maxCacheKeyOptionLen || len(opts.VersionID) > maxCacheKeyOptionLen {
		return c.next.Resolve(ctx, did, opts) // never a cache key; the resolver rejects it
	}
	key := cacheKey(did, opts)
	for {
		c.mu.Lock()
		if el, ok := c.entries[key]; ok {
			e := el.Value.(*cacheEntry)
			if c.now().Before(e.expires) {
				c.lru.MoveToFront(el)
				c.mu.Unlock()
				return e.res.Clone(), e.err
			}
			c.remove(el)
		}
		if call, ok := c.inflight[key]; ok {
			c.mu.Unlock()
			select {
			case <-call.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if isContextErr(call.err) && ctx.Err() == nil {
				continue // the leader gave up, not us: try again
			}
			return call.res.Clone(), call.err
		}
		call := &cacheCall{done: make(chan struct{})}
		c.inflight[key] = call
		c.mu.Unlock()

		c.lead(ctx, key, did, opts, call)
		return call.res.Clone(), call.err
	}
}

// lead calls the upstream resolver for key and publishes the answer to the
// callers waiting on call, even if the resolver panics.
func (c *Cache) lead(ctx context.Context, key, did string, opts ResolveOptions, call *cacheCall) {
	call.err = errors.New("did: resolver panicked")
	defer func() {
		c.mu.Lock()
		delete(c.inflight, key)
		switch {
		case call.err == nil && call.res != nil:
			c.store(key, call.res.Clone(), nil, c.ttl)
		case CodeOf(call.err) == CodeNotFound:
			c.store(key, nil, call.err, c.notFoundTTL)
		}
		c.mu.Unlock()
		close(call.done)
	}()
	call.res, call.err = c.next.Resolve(ctx, did, opts)
}

// store adds an entry; c.mu is held.
func (c *Cache) store(key string, res *Result, err error, ttl time.Duration) {
	e := &cacheEntry{key: key, res: res, err: err, expires: c.now().Add(ttl), size: entrySize(key, res)}
	if el, ok := c.entries[key]; ok {
		c.remove(el)
	}
	if e.size > c.maxBytes {
		return
	}
	c.entries[key] = c.lru.PushFront(e)
	c.used += e.size
	for c.lru.Len() > c.max || c.used > c.maxBytes {
		c.remove(c.lru.Back())
	}
}

// remove drops an entry; c.mu is held.
func (c *Cache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	delete(c.entries, e.key)
	c.used -= e.size
}

// entrySize estimates an entry's memory: its key, and three times its
// result's JSON size (the parsed form, and the copy Clone makes while a
// caller holds it, are larger than the JSON).
func entrySize(key string, res *Result) int64 {
	n := int64(len(key)) + 256
	if res != nil {
		b, _ := json.Marshal(res)
		n += 3 * int64(len(b))
	}
	return n
}

// Bytes is the estimated memory of the cached entries.
func (c *Cache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

// Len returns the number of cached entries, expired ones included.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Purge drops every cached entry.
func (c *Cache) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Init()
	clear(c.entries)
	c.used = 0
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
