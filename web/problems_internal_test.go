package web

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/tongid/tong/internal/fault/faulttest"
	"github.com/tongid/tong/services/inquiries"
	"github.com/tongid/tong/verifier"
)

// TestResultCode: a wallet's own error is explained only when the
// verifier recorded it as the wallet's error, never found in a description.
func TestResultCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    verifier.Result
		want string
	}{
		{"declined", verifier.Result{Code: verifier.CodeWalletError, WalletError: "access_denied"}, "access_denied"},
		{"no match", verifier.Result{Code: verifier.CodeWalletError, WalletError: "no_matching_credentials"}, "no_matching_credentials"},
		{"another wallet error", verifier.Result{Code: verifier.CodeWalletError, WalletError: "invalid_request"}, "wallet_error"},
		{"named only in the description", verifier.Result{Code: verifier.CodeWalletError, Description: "the wallet answered access_denied"}, "wallet_error"},
		{"a check's code", verifier.Result{Code: verifier.CodeCredentialRevoked, WalletError: "access_denied"}, "credential_revoked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := resultCode(&tc.r); got != tc.want {
				t.Errorf("resultCode(%+v) = %q, want %q", tc.r, got, tc.want)
			}
		})
	}
}

// TestPageStatusesCoverEveryCode: every code services/inquiries declares
// has a deliberate page status, and pageStatus uses the table.
func TestPageStatusesCoverEveryCode(t *testing.T) {
	t.Parallel()
	faulttest.CheckTable(t, "../services/inquiries", pageStatuses)
	for c, want := range pageStatuses {
		err := fmt.Errorf("ask: %w", &inquiries.Error{Code: c})
		if got := pageStatus(err); got != want || got < 400 || got > 499 {
			t.Errorf("pageStatus(%s) = %d, want the table's %d, a 4xx", c, got, want)
		}
	}
	if got := pageStatus(errors.New("disk full")); got != http.StatusBadRequest {
		t.Errorf("pageStatus(an untyped error) = %d, want 400", got)
	}
}
