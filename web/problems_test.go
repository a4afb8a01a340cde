package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/web"
)

// TestBusyIsExplained: when the database gave up on a write after every
// retry collided (PostgreSQL under contention), a page says the service is
// busy and nothing was saved, not "something went wrong on our side".
func TestBusyIsExplained(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("book: %w", &store.ContendedError{Attempts: store.MaxTxAttempts})
	got := web.PublicErrorForTest(err)
	if !strings.Contains(got, "busy") || !strings.Contains(got, "系统繁忙") || !strings.Contains(got, "temporarily_unavailable") {
		t.Fatalf("publicError(contended) = %q", got)
	}
	if got := web.PublicErrorForTest(fmt.Errorf("disk on fire")); !strings.Contains(got, "server_error") {
		t.Fatalf("publicError(other) = %q, want server_error", got)
	}
}
