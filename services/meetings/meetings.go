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
	"database/sql"
	"embed"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
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
	booked atomic.Int64 // bookings started, for the purge
}

// PurgeAfter is how long a booking that never became one (unanswered or
// failed; it holds no citizen reference) is kept.
const PurgeAfter = 24 * time.Hour

// PurgeStale deletes bookings that stayed verifying or failed more than
// PurgeAfter ago (anyone may start a booking, so they would pile up), and
// returns how many. Book runs it every 256 bookings.
func (s *Service) PurgeStale(ctx context.Context) (int64, error) {
	res, err := s.cfg.DB.Writer().ExecContext(ctx, `DELETE FROM meetings_bookings WHERE status IN ($1, $2) AND created_at < $3`,
		StatusVerifying, StatusFailed, s.cfg.Now().Add(-PurgeAfter).Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
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
	sub, _ := fs.Sub(migrations, "migrations")
	if _, err := cfg.DB.Migrate(ctx, "meetings", sub); err != nil {
		return nil, err
	}
	return &Service{cfg: cfg}, nil
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
	_, err := s.cfg.DB.Writer().ExecContext(ctx, `INSERT INTO meetings_officials (id, name, title, agency) VALUES ($1, $2, $3, $4)`, o.ID, o.Name, o.Title, o.Agency)
	return &o, err
}

// Publish adds a slot.
func (s *Service) Publish(ctx context.Context, official string, at time.Time, minutes int, place, topic string) (*Slot, error) {
	if minutes <= 0 || minutes > 480 || place == "" || topic == "" {
		return nil, errors.New("meetings: a slot needs a duration (1-480 minutes), a place and a topic")
	}
	id := ids.New("slot_")
	_, err := s.cfg.DB.Writer().ExecContext(ctx, `INSERT INTO meetings_slots (id, official, starts_at, minutes, place, topic) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, official, at.Unix(), minutes, place, topic)
	if err != nil {
		return nil, err
	}
	return s.Slot(ctx, id)
}

const slotCols = `s.id, s.starts_at, s.minutes, s.place, s.topic, o.id, o.name, o.title, o.agency,
	EXISTS (SELECT 1 FROM meetings_bookings b WHERE b.live_slot = s.id)`

func scanSlot(sc interface{ Scan(...any) error }) (*Slot, error) {
	var sl Slot
	var at int64
	if err := sc.Scan(&sl.ID, &at, &sl.Minutes, &sl.Place, &sl.Topic, &sl.Official.ID, &sl.Official.Name, &sl.Official.Title, &sl.Official.Agency, &sl.Booked); err != nil {
		return nil, err
	}
	sl.StartsAt = time.Unix(at, 0)
	return &sl, nil
}

// Slot returns one slot.
func (s *Service) Slot(ctx context.Context, id string) (*Slot, error) {
	sl, err := scanSlot(s.cfg.DB.Reader().QueryRowContext(ctx, `SELECT `+slotCols+` FROM meetings_slots s JOIN meetings_officials o ON o.id = s.official WHERE s.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return sl, err
}

// Upcoming lists slots from now until the given time, soonest first.
func (s *Service) Upcoming(ctx context.Context, until time.Time) ([]*Slot, error) {
	rows, err := s.cfg.DB.Reader().QueryContext(ctx, `SELECT `+slotCols+` FROM meetings_slots s JOIN meetings_officials o ON o.id = s.official
		WHERE s.starts_at >= $1 AND s.starts_at < $2 ORDER BY s.starts_at, s.id`, s.cfg.Now().Unix(), until.Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Slot
	for rows.Next() {
		sl, err := scanSlot(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sl)
	}
	return out, rows.Err()
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
	_, err = s.cfg.DB.Writer().ExecContext(ctx, `INSERT INTO meetings_bookings (id, slot, number, status, session, created_at, cancel_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		b.ID, slotID, b.Number, b.Status, b.Session, s.cfg.Now().Unix(), hashKey(b.CancelKey))
	if err != nil {
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
	return s.booking(ctx, `id = $1`, id)
}

// ByNumber returns a booking by its booking number (the reception's key).
func (s *Service) ByNumber(ctx context.Context, number string) (*Booking, error) {
	return s.booking(ctx, `number = $1`, number)
}

func (s *Service) booking(ctx context.Context, where, arg string) (*Booking, error) {
	var b Booking
	var slot string
	err := s.cfg.DB.Reader().QueryRowContext(ctx, `SELECT id, slot, number, status, citizen_ref, session, checkin, reason, cancel_hash FROM meetings_bookings WHERE `+where, arg).
		Scan(&b.ID, &slot, &b.Number, &b.Status, &b.CitizenRef, &b.Session, &b.CheckIn, &b.Reason, &b.cancelHash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	sl, err := s.Slot(ctx, slot)
	if err != nil {
		return nil, err
	}
	b.Slot = *sl
	return &b, nil
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
		return s.finish(ctx, b, StatusFailed, "", string(verifier.CodeSessionExpired))
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
			return s.finish(ctx, b, StatusFailed, "", err.Error())
		}
		return s.confirm(ctx, b, ref)
	default:
		reason := sess.Status
		if sess.Result != nil {
			reason = string(sess.Result.Code)
		}
		return s.finish(ctx, b, StatusFailed, "", reason)
	}
}

// errSlotTaken and errLimit end confirm's transaction.
var (
	errSlotTaken = errors.New("slot taken")
	errLimit     = errors.New("booking limit")
)

// confirm takes the slot for a verified booking, unless another verified
// booking holds it or the citizen already holds MaxBookingsPerCitizen
// upcoming slots; then the booking fails with the reason.
func (s *Service) confirm(ctx context.Context, b *Booking, ref string) (*Booking, error) {
	err := s.cfg.DB.WriteTx(ctx, func(tx *sql.Tx) error {
		var held int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM meetings_bookings b JOIN meetings_slots s ON s.id = b.slot
			WHERE b.citizen_ref = $1 AND b.status = $2 AND s.starts_at >= $3`, ref, StatusBooked, s.cfg.Now().Unix()).Scan(&held)
		if err != nil {
			return err
		}
		if held >= s.cfg.MaxBookingsPerCitizen {
			return errLimit
		}
		_, err = tx.ExecContext(ctx, `UPDATE meetings_bookings SET status = $1, citizen_ref = $2, reason = '', live_slot = $3 WHERE id = $4 AND status = $5`,
			StatusBooked, ref, b.Slot.ID, b.ID, StatusVerifying)
		if store.IsUniqueViolation(err) {
			return errSlotTaken
		}
		return err
	})
	switch {
	case errors.Is(err, errSlotTaken):
		return s.finish(ctx, b, StatusFailed, "", ReasonSlotTaken)
	case errors.Is(err, errLimit):
		return s.finish(ctx, b, StatusFailed, "", ReasonBookingLimit)
	case err != nil:
		return nil, err
	}
	s.changed(ctx, b.ID)
	return s.Booking(ctx, b.ID)
}

func (s *Service) finish(ctx context.Context, b *Booking, status, ref, reason string) (*Booking, error) {
	var live any = b.Slot.ID
	if status != StatusBooked {
		live = nil
	}
	_, err := s.cfg.DB.Writer().ExecContext(ctx, `UPDATE meetings_bookings SET status = $1, citizen_ref = $2, reason = $3, live_slot = $4 WHERE id = $5 AND status = $6`,
		status, ref, reason, live, b.ID, StatusVerifying)
	if err != nil {
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
	res, err := s.cfg.DB.Writer().ExecContext(ctx, `UPDATE meetings_bookings SET status = $1, live_slot = NULL WHERE id = $2 AND status = $3`, StatusCancelled, b.ID, StatusBooked)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrNotBooked
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
	if _, err := s.cfg.DB.Writer().ExecContext(ctx, `UPDATE meetings_bookings SET checkin = $1 WHERE id = $2`, sess.ID, b.ID); err != nil {
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
	if _, err := s.cfg.DB.Writer().ExecContext(ctx, `UPDATE meetings_bookings SET status = $1 WHERE id = $2 AND status = $3`, StatusCheckedIn, b.ID, StatusBooked); err != nil {
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
	rows, err := s.cfg.DB.Reader().QueryContext(ctx, `SELECT b.id FROM meetings_bookings b JOIN meetings_slots s ON s.id = b.slot
		WHERE s.official = $1 AND s.starts_at >= $2 AND s.starts_at < $3 AND b.status IN ($4, $5) ORDER BY s.starts_at`,
		official, start.Unix(), start.AddDate(0, 0, 1).Unix(), StatusBooked, StatusCheckedIn)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	var out []*Booking
	for _, id := range ids {
		b, err := s.Booking(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// Officials lists the officials.
func (s *Service) Officials(ctx context.Context) ([]Official, error) {
	rows, err := s.cfg.DB.Reader().QueryContext(ctx, `SELECT id, name, title, agency FROM meetings_officials ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Official
	for rows.Next() {
		var o Official
		if err := rows.Scan(&o.ID, &o.Name, &o.Title, &o.Agency); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
