package verifier

import "container/list"

// sizedCache is a least-recently-used map bounded by bytes (each entry's
// stated size plus sizedOverhead), for the trust caches, whose keys come
// from presented credentials. It is not safe for concurrent use: trust
// holds its mutex around every call.
type sizedCache[V any] struct {
	max, used int64
	ll        *list.List // of *sizedEntry[V], most recent first
	m         map[string]*list.Element
}

type sizedEntry[V any] struct {
	key  string
	val  V
	size int64
}

// sizedOverhead is added to every entry: the list element, the map slot
// and the entry.
const sizedOverhead = 128

func newSizedCache[V any](maxBytes int64) *sizedCache[V] {
	return &sizedCache[V]{max: maxBytes, ll: list.New(), m: map[string]*list.Element{}}
}

func (c *sizedCache[V]) get(k string) (V, bool) {
	el, ok := c.m[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.ll.MoveToFront(el)
	return el.Value.(*sizedEntry[V]).val, true
}

// put stores v under k with the given size (of the value; the key's
// length is added), evicting the least recently used entries until the
// cache is within its bound. An entry larger than the bound is not kept.
func (c *sizedCache[V]) put(k string, v V, size int64) {
	size += int64(len(k)) + sizedOverhead
	if el, ok := c.m[k]; ok {
		c.used -= el.Value.(*sizedEntry[V]).size
		c.ll.Remove(el)
		delete(c.m, k)
	}
	if size > c.max {
		return
	}
	for c.used+size > c.max {
		last := c.ll.Back()
		e := last.Value.(*sizedEntry[V])
		c.ll.Remove(last)
		delete(c.m, e.key)
		c.used -= e.size
	}
	c.m[k] = c.ll.PushFront(&sizedEntry[V]{key: k, val: v, size: size})
	c.used += size
}

func (c *sizedCache[V]) bytes() int64 { return c.used }
