package verifier

import (
	"fmt"
	"testing"
)

func TestSizedCacheStaysWithinBytes(t *testing.T) {
	const max = 10 * (100 + sizedOverhead + 2)
	c := newSizedCache[int](max)
	for i := range 100 {
		c.put(fmt.Sprintf("%02d", i), i, 100) // keys of 2 bytes
		if c.bytes() > max {
			t.Fatalf("after %d puts the cache holds %d bytes, over %d", i+1, c.bytes(), max)
		}
	}
	if len(c.m) != 10 || c.ll.Len() != 10 {
		t.Fatalf("%d entries (%d listed), want 10", len(c.m), c.ll.Len())
	}
	// The least recently used go first: touch the oldest, add one more.
	if _, ok := c.get("100"); ok {
		t.Fatal("a key never put is found")
	}
	if _, ok := c.get("90"); !ok {
		t.Fatal("the oldest kept entry is gone")
	}
	c.put("zz", 1, 100)
	if _, ok := c.get("90"); !ok {
		t.Error("the entry just used was evicted")
	}
	if _, ok := c.get("91"); ok {
		t.Error("the least recently used entry was kept")
	}
	// Replacing an entry does not count it twice; one over the bound is
	// not kept.
	before := c.bytes()
	c.put("zz", 2, 100)
	if v, _ := c.get("zz"); v != 2 || c.bytes() != before {
		t.Errorf("replace: value %d, %d bytes, want 2 and %d", v, c.bytes(), before)
	}
	c.put("huge", 3, max)
	if _, ok := c.get("huge"); ok || c.bytes() > max {
		t.Errorf("an entry larger than the bound was kept (%d bytes)", c.bytes())
	}
}
