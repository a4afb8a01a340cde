// Package bytelru is a least-recently-used cache bounded by bytes rather
// than by entries, for caches whose keys or values come from clients: a
// bound on entries alone lets large values (or many distinct keys of a
// large value each) grow the process without limit.
//
// The caller states each entry's size (key and value, as it estimates
// them); the cache evicts the least recently used entries until the total
// is within the bound. An entry larger than the whole bound is not kept.
//
// # Entry points
//
//   - [New] makes a cache.
//   - [Cache.Get], [Cache.Add], [Cache.Remove] use it.
//
// # Example
//
//	c := bytelru.New[string, []byte](32 << 20)
//	c.Add(key, body, int64(len(key)+len(body)))
//	if b, ok := c.Get(key); ok { … }
package bytelru

import (
	"container/list"
	"sync"
)

// Overhead is added to every entry's stated size: the list element, the
// map slot and the entry itself.
const Overhead = 96

// Cache is a byte-bounded LRU. It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	max int64

	mu   sync.Mutex
	used int64
	ll   *list.List // of *entry[K, V], most recent first
	m    map[K]*list.Element
}

type entry[K comparable, V any] struct {
	key  K
	val  V
	size int64
}

// New makes a cache holding at most maxBytes (stated sizes plus Overhead
// per entry). maxBytes must be positive.
func New[K comparable, V any](maxBytes int64) *Cache[K, V] {
	if maxBytes <= 0 {
		panic("bytelru: maxBytes must be positive") // a programmer error
	}
	return &Cache[K, V]{max: maxBytes, ll: list.New(), m: map[K]*list.Element{}}
}

// Get returns the value for k and marks it recently used.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.ll.MoveToFront(el)
	return el.Value.(*entry[K, V]).val, true
}

// Add sets k to v, whose size (key and value) is size bytes, replacing
// any value k had, and evicts least recently used entries until the cache
// is within its bound. A value larger than the bound is not kept (and k's
// old value is dropped).
func (c *Cache[K, V]) Add(k K, v V, size int64) {
	size += Overhead
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[k]; ok {
		c.removeElement(el)
	}
	if size > c.max {
		return
	}
	c.m[k] = c.ll.PushFront(&entry[K, V]{key: k, val: v, size: size})
	c.used += size
	for c.used > c.max {
		c.removeElement(c.ll.Back())
	}
}

// Remove drops k.
func (c *Cache[K, V]) Remove(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[k]; ok {
		c.removeElement(el)
	}
}

func (c *Cache[K, V]) removeElement(el *list.Element) {
	e := c.ll.Remove(el).(*entry[K, V])
	delete(c.m, e.key)
	c.used -= e.size
}

// Purge drops every entry.
func (c *Cache[K, V]) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ll.Init()
	clear(c.m)
	c.used = 0
}

// Len is the number of entries.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// Bytes is the total size of the entries, Overhead included.
func (c *Cache[K, V]) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

// Max is the bound.
func (c *Cache[K, V]) Max() int64 { return c.max }
