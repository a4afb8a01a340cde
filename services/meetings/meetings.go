// Package meetings lets officials publish meeting slots and citizens book
// them by presenting their identity and Beijing residence, then check in
// at the meeting by presenting their identity again. A booking keeps only
// a pairwise, non-reversible reference to the citizen.
//
// # Holds and cancelling
//
// Starting a booking needs no credential, so it holds nothing: the slot
// is taken only when a verified presentation settles the booking (the
// first verified booking wins; a later one fails with slot_taken), and
// one citizen (one pairwise reference) holds at most
// [Config.MaxBookingsPerCitizen] upcoming slots (booking_limit). A booking
// is cancelled with the cancel key [Service.Book] returns, which only the
// booker's link carries and which is stored hashed; the booking number
// (the reception's key) does not cancel.
package meetings

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tongid/tong/internal/ids"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/verifier"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Booking states.
const (
	StatusVerifying = "verifying"
	StatusBooked    = "booked"
	StatusCancelled = "cancelled"
	StatusCheckedIn = "checked_in"
	StatusFailed    = "failed"
)

// Errors.
var (
	ErrNotFound  = errors.New("meetings: not found")
	ErrTaken     = errors.New("meetings: this slot is already booked")
	ErrNotBooked = errors.New("meetings: this booking is not active")
	// ErrCancelDenied: the cancel key is missing or not the booking's.
	ErrCancelDenied = errors.New("meetings: only the booker's link can cancel this booking")
)

// Reasons a verified booking fails (Booking.Reason).
const (
	ReasonSlotTaken    = "slot_taken"    // another citizen's verified booking came first
	ReasonBookingLimit = "booking_limit" // the citizen holds MaxBookingsPerCitizen upcoming slots
)

// DefaultMaxBookingsPerCitizen is Config.MaxBookingsPerCitizen's default.
const DefaultMaxBookingsPerCitizen = 2

// Verifier is what the service asks of the verifier: sessions of its
// counters, and their results. *verifier.Service is one.
type Verifier interface {
	CreateSession(ctx context.Context, c *verifier.Counter, nr verifier.NewRequest) (*verifier.Session, error)
	Session(ctx context.Context, c *verifier.Counter, id string) (*verifier.Session, error)
}

var _ Verifier = (*verifier.Service)(nil)

// Config configures the service. Booking and CheckIn are the verifier
// counters it asks through (purposes meeting-booking and meeting-checkin).
type Config struct {
	DB       *store.DB
	Verifier Verifier
	Booking  *verifier.Counter
	CheckIn  *verifier.Counter
	// Secret keys the pairwise citizen references (32 bytes).
	Secret []byte
	// MaxBookingsPerCitizen is how many upcoming slots one verified
	// citizen may hold (0: DefaultMaxBookingsPerCitizen).
	MaxBookingsPerCitizen int
	// Poll is how often Wait re-reads a booking when no notification
	// arrives (0: DefaultPoll).
	Poll time.Duration
	Now  func() time.Time
}

// Service is the meetings service.
type Service struct {
	cfg    Config
	st     bookingStore
	booked atomic.Int64 // bookings started, for the purge
}

// PurgeAfter is how long a booking that never became one (unanswered or
// failed; it holds no citizen reference) is kept.
const PurgeAfter = 24 * time.Hour

// PurgeStale deletes bookings that stayed verifying or failed more than
// PurgeAfter ago (anyone may start a booking, so they would pile up), and
// returns how many. Book runs it every 256 bookings.
func (s *Service) PurgeStale(ctx context.Context) (int64, error) {
	return s.st.purgeStale(ctx, s.cfg.Now().Add(-PurgeAfter))
}

// New opens the service and applies its schema.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Verifier == nil || cfg.Booking == nil || cfg.CheckIn == nil || len(cfg.Secret) != 32 {
		return nil, errors.New("meetings: DB, Verifier, Booking and CheckIn counters and a 32-byte Secret are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxBookingsPerCitizen == 0 {
		cfg.MaxBookingsPerCitizen = DefaultMaxBookingsPerCitizen
	}
	if cfg.Poll == 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.MaxBookingsPerCitizen < 0 || cfg.Poll < 0 {
		return nil, errors.New("meetings: MaxBookingsPerCitizen and Poll must not be negative")
	}
	st, err := openStore(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, st: st}, nil
}

// Official is a person citizens meet.
type Official struct {
	ID, Name, Title, Agency string
}

// Slot is a meeting time an official offers.
type Slot struct {
	ID       string
	Official Official
	StartsAt time.Time
	Minutes  int
	Place    string
	Topic    string
	Booked   bool
}

// Booking is a citizen's booking. CitizenRef is pseudonymous.
type Booking struct {
	ID         string
	Number     string
	Slot       Slot
	Status     string
	CitizenRef string
	Session    string
	CheckIn    string
	Reason     string
	// CancelKey is set only in what Book returns: the secret that cancels
	// the booking. It is stored hashed and never shown again.
	CancelKey string

	cancelHash string
}

// CancelKeyOK reports whether key is the booking's cancel key.
func (b *Booking) CancelKeyOK(key string) bool {
	return key != "" && b.cancelHash != "" && subtle.ConstantTimeCompare([]byte(hashKey(key)), []byte(b.cancelHash)) == 1
}

func hashKey(key string) string {
	sum := sha256.Sum256([]byte("meetings cancel key\x00" + key))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// AddOfficial registers an official.
func (s *Service) AddOfficial(ctx context.Context, o Official) (*Official, error) {
	if o.Name == "" || o.Agency == "" {
		return nil, errors.New("meetings: an official needs a name and an agency")
	}
	o.ID = ids.New("off_")
	return &o, s.st.addOfficial(ctx, &o)
}

// Publish adds a slot.
func (s *Service) Publish(ctx context.Context, official string, at time.Time, minutes int, place, topic string) (*Slot, error) {
	if minutes <= 0 || minutes > 480 || place == "" || topic == "" {
		return nil, errors.New("meetings: a slot needs a duration (1-480 minutes), a place and a topic")
	}
	sl := &Slot{ID: ids.New("slot_"), Official: Official{ID: official}, StartsAt: at, Minutes: minutes, Place: place, Topic: topic}
	if err := s.st.addSlot(ctx, sl); err != nil {
		return nil, err
	}
	return s.Slot(ctx, sl.ID)
}

// Slot returns one slot.
func (s *Service) Slot(ctx context.Context, id string) (*Slot, error) {
	return s.st.slot(ctx, id)
}

// Upcoming lists slots from now until the given time, soonest first.
func (s *Service) Upcoming(ctx context.Context, until time.Time) ([]*Slot, error) {
	return s.st.upcoming(ctx, s.cfg.Now(), until)
}

// Book starts a booking and returns the verifier session the citizen's
// wallet must answer (identity + residence). It holds nothing: the slot
// is taken when a verified presentation settles the booking (Settle).
// The returned Booking's CancelKey is the booker's secret to cancel it.
func (s *Service) Book(ctx context.Context, slotID string) (*Booking, *verifier.Session, error) {
	sl, err := s.Slot(ctx, slotID)
	if err != nil {
		return nil, nil, err
	}
	if sl.StartsAt.Before(s.cfg.Now()) {
		return nil, nil, errors.New("meetings: this slot is in the past")
	}
	if sl.Booked {
		return nil, nil, ErrTaken
	}
	sess, err := s.cfg.Verifier.CreateSession(ctx, s.cfg.Booking, verifier.NewRequest{Purpose: "meeting-booking"})
	if err != nil {
		return nil, nil, err
	}
	if s.booked.Add(1)%256 == 0 {
		_, _ = s.PurgeStale(ctx) // the next round retries a failed purge
	}
	b := &Booking{ID: ids.New("bkg_"), Number: bookingNumber(), Slot: *sl, Status: StatusVerifying, Session: sess.ID, CancelKey: ids.Random(24)}
	if err := s.st.startBooking(ctx, b, hashKey(b.CancelKey), s.cfg.Now()); err != nil {
		return nil, nil, err
	}
	return b, sess, nil
}

func bookingNumber() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return "BK-" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// Booking returns a booking by id (the booker's link names it).
func (s *Service) Booking(ctx context.Context, id string) (*Booking, error) {
	return s.st.booking(ctx, id)
}

// ByNumber returns a booking by its booking number (the reception's key).
func (s *Service) ByNumber(ctx context.Context, number string) (*Booking, error) {
	return s.st.bookingByNumber(ctx, number)
}

// Settle looks at a verifying booking's session and confirms or fails it.
func (s *Service) Settle(ctx context.Context, id string) (*Booking, error) {
	b, err := s.Booking(ctx, id)
	if err != nil || b.Status != StatusVerifying {
		return b, err
	}
	sess, err := s.cfg.Verifier.Session(ctx, s.cfg.Booking, b.Session)
	if verifier.CodeOf(err) == verifier.CodeNotFound {
		// The verifier purged the session: it expired unanswered long ago.
		return s.fail(ctx, b, string(verifier.CodeSessionExpired))
	}
	if err != nil {
		return nil, err
	}
	switch sess.Status {
	case verifier.StatusPending:
		return b, nil
	case verifier.StatusAccepted:
		ref, err := s.citizenRef(sess.Result)
		if err != nil {
			return s.fail(ctx, b, err.Error())
		}
		return s.confirm(ctx, b, ref)
	default:
		reason := sess.Status
		if sess.Result != nil {
			reason = string(sess.Result.Code)
		}
		return s.fail(ctx, b, reason)
	}
}

// errSlotTaken and errLimit: the store's book refused.
var (
	errSlotTaken = errors.New("slot taken")
	errLimit     = errors.New("booking limit")
)

// confirm takes the slot for a verified booking, unless another verified
// booking holds it or the citizen already holds MaxBookingsPerCitizen
// upcoming slots; then the booking fails with the reason.
func (s *Service) confirm(ctx context.Context, b *Booking, ref string) (*Booking, error) {
	err := s.st.book(ctx, b.ID, b.Slot.ID, ref, s.cfg.MaxBookingsPerCitizen, s.cfg.Now())
	switch {
	case errors.Is(err, errSlotTaken):
		return s.fail(ctx, b, ReasonSlotTaken)
	case errors.Is(err, errLimit):
		return s.fail(ctx, b, ReasonBookingLimit)
	case err != nil && !errors.Is(err, errNotVerifying): // not verifying: settled meanwhile
		return nil, err
	}
	s.changed(ctx, b.ID)
	return s.Booking(ctx, b.ID)
}

// fail ends a verifying booking as failed, with the reason.
func (s *Service) fail(ctx context.Context, b *Booking, reason string) (*Booking, error) {
	if err := s.st.fail(ctx, b.ID, reason); err != nil {
		return nil, err
	}
	s.changed(ctx, b.ID)
	return s.Booking(ctx, b.ID)
}

// citizenRef is the pairwise reference: HMAC(secret, names + birth date)
// from the verified identity credential.
func (s *Service) citizenRef(r *verifier.Result) (string, error) {
	for _, p := range r.Credentials {
		if p.QueryID != "pid" {
			continue
		}
		fam, _ := p.Claims["family_name"].(string)
		giv, _ := p.Claims["given_name"].(string)
		bd, _ := p.Claims["birthdate"].(string)
		if fam == "" || giv == "" || bd == "" {
			return "", errors.New("identity incomplete")
		}
		m := hmac.New(sha256.New, s.cfg.Secret)
		fmt.Fprintf(m, "meetings\x00%s\x00%s\x00%s\x00%s", p.IssuerDID, fam, giv, bd)
		return "C-" + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12]), nil
	}
	return "", errors.New("no identity credential")
}

// Cancel cancels a booking, given its id and the cancel key that Book
// returned to the booker. The booking number alone does not cancel: it is
// the reception's key, not a secret.
func (s *Service) Cancel(ctx context.Context, id, key string) error {
	b, err := s.Booking(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return ErrCancelDenied
	}
	if err != nil {
		return err
	}
	if !b.CancelKeyOK(key) {
		return ErrCancelDenied
	}
	if err := s.st.cancel(ctx, b.ID, hashKey(key)); err != nil {
		return err
	}
	s.changed(ctx, b.ID)
	return nil
}

// StartCheckIn asks the citizen at the meeting to present their identity.
// A check-in already waiting for its answer is returned as it is, so a
// second start (anyone can type a number) does not swap the QR code the
// citizen is scanning.
func (s *Service) StartCheckIn(ctx context.Context, number string) (*Booking, *verifier.Session, error) {
	b, err := s.ByNumber(ctx, number)
	if err != nil {
		return nil, nil, err
	}
	if b.Status != StatusBooked {
		return nil, nil, ErrNotBooked
	}
	if b.CheckIn != "" {
		if sess, err := s.cfg.Verifier.Session(ctx, s.cfg.CheckIn, b.CheckIn); err == nil && sess.Status == verifier.StatusPending {
			return b, sess, nil
		}
	}
	sess, err := s.cfg.Verifier.CreateSession(ctx, s.cfg.CheckIn, verifier.NewRequest{Purpose: "meeting-checkin"})
	if err != nil {
		return nil, nil, err
	}
	if err := s.st.setCheckIn(ctx, b.ID, sess.ID); err != nil {
		return nil, nil, err
	}
	b.CheckIn = sess.ID
	return b, sess, nil
}

// CheckInResult is the outcome of a check-in.
type CheckInResult struct {
	Booking *Booking
	Pending bool
	OK      bool
	Reason  string
}

// SettleCheckIn looks at the check-in session: the verified citizen must
// be the one who booked (same pairwise reference).
func (s *Service) SettleCheckIn(ctx context.Context, number string) (*CheckInResult, error) {
	b, err := s.ByNumber(ctx, number)
	if err != nil {
		return nil, err
	}
	out := &CheckInResult{Booking: b}
	if b.Status == StatusCheckedIn {
		out.OK = true
		return out, nil
	}
	if b.CheckIn == "" || b.Status != StatusBooked {
		out.Reason = "not_booked"
		return out, nil
	}
	sess, err := s.cfg.Verifier.Session(ctx, s.cfg.CheckIn, b.CheckIn)
	if err != nil {
		return nil, err
	}
	switch sess.Status {
	case verifier.StatusPending:
		out.Pending = true
		return out, nil
	case verifier.StatusAccepted:
	default:
		out.Reason = sess.Status
		if sess.Result != nil {
			out.Reason = string(sess.Result.Code)
		}
		return out, nil
	}
	ref, err := s.citizenRef(sess.Result)
	if err != nil || ref != b.CitizenRef {
		out.Reason = "different_citizen"
		return out, nil
	}
	// A check-in settled meanwhile (by a second page, or replica) leaves
	// the booking checked in all the same.
	if _, err := s.st.checkIn(ctx, b.ID); err != nil {
		return nil, err
	}
	s.changed(ctx, b.ID)
	out.OK = true
	out.Booking, err = s.Booking(ctx, b.ID)
	return out, err
}

// Day lists an official's bookings on the day of t.
func (s *Service) Day(ctx context.Context, official string, t time.Time) ([]*Booking, error) {
	start := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	return s.st.day(ctx, official, start, start.AddDate(0, 0, 1))
}

// Officials lists the officials.
func (s *Service) Officials(ctx context.Context) ([]Official, error) {
	return s.st.officials(ctx)
}
