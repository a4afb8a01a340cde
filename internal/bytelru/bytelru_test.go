package bytelru

import (
	"fmt"
	"testing"
)

func TestBoundByBytes(t *testing.T) {
	t.Parallel()
	c := New[string, []byte](10 * (1000 + Overhead))
	for i := range 100 {
		c.Add(fmt.Sprint(i), make([]byte, 1000), 1000)
		if c.Bytes() > c.Max() {
			t.Fatalf("after %d adds Bytes() = %d, want ≤ %d", i+1, c.Bytes(), c.Max())
		}
	}
	if c.Len() != 10 {
		t.Errorf("Len() = %d, want 10", c.Len())
	}
	if _, ok := c.Get("89"); ok {
		t.Errorf("Get(89) found an entry that should have been evicted")
	}
	if _, ok := c.Get("95"); !ok {
		t.Errorf("Get(95) = missing, want present")
	}
}

func TestLeastRecentlyUsedGoesFirst(t *testing.T) {
	t.Parallel()
	c := New[int, int](3 * (1 + Overhead))
	c.Add(1, 1, 1)
	c.Add(2, 2, 1)
	c.Add(3, 3, 1)
	c.Get(1) // 2 is now the least recently used
	c.Add(4, 4, 1)
	if _, ok := c.Get(2); ok {
		t.Errorf("Get(2) present, want evicted")
	}
	for _, k := range []int{1, 3, 4} {
		if v, ok := c.Get(k); !ok || v != k {
			t.Errorf("Get(%d) = %d, %v; want %d, true", k, v, ok, k)
		}
	}
}

func TestReplaceAndOversize(t *testing.T) {
	t.Parallel()
	c := New[string, string](1000)
	c.Add("a", "x", 100)
	c.Add("a", "y", 200)
	if c.Len() != 1 || c.Bytes() != 200+Overhead {
		t.Errorf("after replacing: Len %d Bytes %d, want 1 and %d", c.Len(), c.Bytes(), 200+Overhead)
	}
	c.Add("a", "huge", 5000)
	if _, ok := c.Get("a"); ok || c.Bytes() != 0 {
		t.Errorf("an oversized value was kept (or the old one stayed): Bytes %d", c.Bytes())
	}
	c.Add("b", "z", 10)
	c.Remove("b")
	c.Add("c", "z", 10)
	c.Purge()
	if c.Len() != 0 || c.Bytes() != 0 {
		t.Errorf("after Purge: Len %d Bytes %d", c.Len(), c.Bytes())
	}
}
