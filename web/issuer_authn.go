package web

import (
	"context"
	"fmt"

	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/verifier"
)

// PurposeIssuerSignIn is the verifier purpose an agency's authorization
// endpoint asks for: the citizen identity credential's
// personal_administrative_number, nothing else.
const PurposeIssuerSignIn = "issuer-sign-in"

// IssuerAuthenticator is the issuer's [issuer.Authenticator] on Tong's
// own verifier: each authorization starts a verifier session of a counter
// accredited for PurposeIssuerSignIn, and the subject is the
// personal_administrative_number of the verified citizen identity
// credential. The sessions are same-device: the verifier sends the
// wallet back to the authorization endpoint with a response_code, which
// Subject checks against the session's result. Counter may be set after construction (cmd/tong opens the
// issuer before the verifier), but before the first request.
type IssuerAuthenticator struct {
	Verifier SessionVerifier
	Counter  *verifier.Counter
}

// SessionVerifier is what IssuerAuthenticator asks of the verifier: a
// session of its counter, and the session's result. *verifier.Service is
// one.
type SessionVerifier interface {
	CreateSession(ctx context.Context, c *verifier.Counter, nr verifier.NewRequest) (*verifier.Session, error)
	Session(ctx context.Context, c *verifier.Counter, id string) (*verifier.Session, error)
}

var (
	_ issuer.Authenticator = (*IssuerAuthenticator)(nil)
	_ SessionVerifier      = (*verifier.Service)(nil)
)

// Start creates the verifier session, same-device, returning to
// returnTo.
func (a *IssuerAuthenticator) Start(ctx context.Context, agency, returnTo string) (string, string, error) {
	if a.Verifier == nil || a.Counter == nil {
		return "", "", fmt.Errorf("web: issuer authenticator has no verifier counter")
	}
	sess, err := a.Verifier.CreateSession(ctx, a.Counter, verifier.NewRequest{Purpose: PurposeIssuerSignIn, SameDevice: true, RedirectURI: returnTo})
	if err != nil {
		return "", "", err
	}
	return sess.ID, sess.RequestURI, nil
}

// Subject reads the session's result, and checks that responseCode is
// the one the verifier gave the wallet.
func (a *IssuerAuthenticator) Subject(ctx context.Context, session, responseCode string) (string, error) {
	if a.Verifier == nil || a.Counter == nil {
		return "", fmt.Errorf("web: issuer authenticator has no verifier counter")
	}
	sess, err := a.Verifier.Session(ctx, a.Counter, session)
	if err != nil {
		if verifier.CodeOf(err) != "" {
			return "", fmt.Errorf("%w: %w", issuer.ErrAuthenticationFailed, err)
		}
		return "", err
	}
	switch sess.Status {
	case verifier.StatusPending:
		return "", issuer.ErrAuthenticationPending
	case verifier.StatusAccepted:
	default:
		return "", fmt.Errorf("%w: session %s", issuer.ErrAuthenticationFailed, sess.Status)
	}
	if !sess.Result.ResponseCodeMatches(responseCode) {
		return "", issuer.ErrResponseCode
	}
	if sess.Result != nil {
		for _, c := range sess.Result.Credentials {
			if v, ok := c.Claims[issuer.SubjectClaim].(string); ok && v != "" {
				return v, nil
			}
		}
	}
	return "", fmt.Errorf("%w: no %s in the presentation", issuer.ErrAuthenticationFailed, issuer.SubjectClaim)
}
