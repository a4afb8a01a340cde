package meetings

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"time"

	"github.com/tongid/tong/internal/store"
)

// bookingStore is where the service keeps officials, slots and bookings.
// The domain code reaches the database only through it; sqlStore is the
// one implementation.
//
// Every method that moves a booking from one state to another MUST do so
// only from the state it names (verifying for book and fail, booked for
// cancel and checkIn), in one statement or transaction, so that when many
// callers on any number of replicas try the same step at once exactly
// one of them changes the booking.
type bookingStore interface {
	addOfficial(ctx context.Context, o *Official) error
	officials(ctx context.Context) ([]Official, error)
	addSlot(ctx context.Context, sl *Slot) error
	// slot returns ErrNotFound for an unknown id.
	slot(ctx context.Context, id string) (*Slot, error)
	// upcoming lists the slots starting in [from, until), soonest first.
	upcoming(ctx context.Context, from, until time.Time) ([]*Slot, error)

	// startBooking stores b as verifying, holding nothing; cancelHash is
	// the hash of b's cancel key.
	startBooking(ctx context.Context, b *Booking, cancelHash string, at time.Time) error
	// booking and bookingByNumber return ErrNotFound when nothing matches.
	booking(ctx context.Context, id string) (*Booking, error)
	bookingByNumber(ctx context.Context, number string) (*Booking, error)
	// book takes the slot for verifying booking id of citizen ref, unless
	// ref already holds limit booked slots starting at or after now
	// (errLimit) or another booking holds the slot (errSlotTaken). It
	// returns errNotVerifying if the booking is not verifying.
	book(ctx context.Context, id, slot, ref string, limit int, now time.Time) error
	// fail ends verifying booking id as failed with reason; a booking in
	// another state is left as it is.
	fail(ctx context.Context, id, reason string) error
	// cancel frees the slot of booked booking id whose cancel key hashes
	// to cancelHash; ErrNotBooked if no booked booking has both.
	cancel(ctx context.Context, id, cancelHash string) error
	// setCheckIn records the verifier session of booking id's check-in.
	setCheckIn(ctx context.Context, id, session string) error
	// checkIn marks booked booking id checked in; false if it was not
	// booked.
	checkIn(ctx context.Context, id string) (bool, error)
	// day lists the booked and checked-in bookings of slots of official
	// starting in [from, until), soonest first.
	day(ctx context.Context, official string, from, until time.Time) ([]*Booking, error)
	// purgeStale deletes verifying and failed bookings created before
	// before, and returns how many.
	purgeStale(ctx context.Context, before time.Time) (int64, error)
}

// errNotVerifying: book found the booking in another state.
var errNotVerifying = errors.New("meetings: booking is not verifying")

// sqlStore keeps the service's tables in Tong's SQL database (SQLite or
// PostgreSQL), with the schema in migrations/.
type sqlStore struct{ db *store.DB }

var _ bookingStore = (*sqlStore)(nil)

// openStore applies the migrations and returns the store.
func openStore(ctx context.Context, db *store.DB) (*sqlStore, error) {
	sub, _ := fs.Sub(migrations, "migrations")
	if _, err := db.Migrate(ctx, Component, sub); err != nil {
		return nil, err
	}
	return &sqlStore{db: db}, nil
}

func (s *sqlStore) addOfficial(ctx context.Context, o *Official) error {
	_, err := s.db.Writer().ExecContext(ctx, `INSERT INTO meetings_officials (id, name, title, agency) VALUES ($1, $2, $3, $4)`, o.ID, o.Name, o.Title, o.Agency)
	return err
}

func (s *sqlStore) officials(ctx context.Context) ([]Official, error) {
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT id, name, title, agency FROM meetings_officials ORDER BY name`)
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

func (s *sqlStore) addSlot(ctx context.Context, sl *Slot) error {
	_, err := s.db.Writer().ExecContext(ctx, `INSERT INTO meetings_slots (id, official, starts_at, minutes, place, topic) VALUES ($1, $2, $3, $4, $5, $6)`,
		sl.ID, sl.Official.ID, sl.StartsAt.Unix(), sl.Minutes, sl.Place, sl.Topic)
	return err
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

func (s *sqlStore) slot(ctx context.Context, id string) (*Slot, error) {
	sl, err := scanSlot(s.db.Reader().QueryRowContext(ctx, `SELECT `+slotCols+` FROM meetings_slots s JOIN meetings_officials o ON o.id = s.official WHERE s.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return sl, err
}

func (s *sqlStore) upcoming(ctx context.Context, from, until time.Time) ([]*Slot, error) {
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT `+slotCols+` FROM meetings_slots s JOIN meetings_officials o ON o.id = s.official
		WHERE s.starts_at >= $1 AND s.starts_at < $2 ORDER BY s.starts_at, s.id`, from.Unix(), until.Unix())
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

func (s *sqlStore) startBooking(ctx context.Context, b *Booking, cancelHash string, at time.Time) error {
	_, err := s.db.Writer().ExecContext(ctx, `INSERT INTO meetings_bookings (id, slot, number, status, session, created_at, cancel_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		b.ID, b.Slot.ID, b.Number, StatusVerifying, b.Session, at.Unix(), cancelHash)
	return err
}

func (s *sqlStore) booking(ctx context.Context, id string) (*Booking, error) {
	return s.bookingWhere(ctx, `id = $1`, id)
}

func (s *sqlStore) bookingByNumber(ctx context.Context, number string) (*Booking, error) {
	return s.bookingWhere(ctx, `number = $1`, number)
}

func (s *sqlStore) bookingWhere(ctx context.Context, where, arg string) (*Booking, error) {
	var b Booking
	var slot string
	err := s.db.Reader().QueryRowContext(ctx, `SELECT id, slot, number, status, citizen_ref, session, checkin, reason, cancel_hash FROM meetings_bookings WHERE `+where, arg).
		Scan(&b.ID, &slot, &b.Number, &b.Status, &b.CitizenRef, &b.Session, &b.CheckIn, &b.Reason, &b.cancelHash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	sl, err := s.slot(ctx, slot)
	if err != nil {
		return nil, err
	}
	b.Slot = *sl
	return &b, nil
}

// book counts the citizen's upcoming booked slots and takes the slot in
// one transaction (SERIALIZABLE on PostgreSQL, so two replicas cannot
// both pass the count); the unique live_slot column lets one booking per
// slot be live.
func (s *sqlStore) book(ctx context.Context, id, slot, ref string, limit int, now time.Time) error {
	return s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		var held int
		err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM meetings_bookings b JOIN meetings_slots s ON s.id = b.slot
			WHERE b.citizen_ref = $1 AND b.status = $2 AND s.starts_at >= $3`, ref, StatusBooked, now.Unix()).Scan(&held)
		if err != nil {
			return err
		}
		if held >= limit {
			return errLimit
		}
		res, err := tx.ExecContext(ctx, `UPDATE meetings_bookings SET status = $1, citizen_ref = $2, reason = '', live_slot = $3 WHERE id = $4 AND status = $5`,
			StatusBooked, ref, slot, id, StatusVerifying)
		if store.IsUniqueViolation(err) {
			return errSlotTaken
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errNotVerifying
		}
		return nil
	})
}

func (s *sqlStore) fail(ctx context.Context, id, reason string) error {
	_, err := s.db.Writer().ExecContext(ctx, `UPDATE meetings_bookings SET status = $1, citizen_ref = '', reason = $2, live_slot = NULL WHERE id = $3 AND status = $4`,
		StatusFailed, reason, id, StatusVerifying)
	return err
}

func (s *sqlStore) cancel(ctx context.Context, id, cancelHash string) error {
	res, err := s.db.Writer().ExecContext(ctx, `UPDATE meetings_bookings SET status = $1, live_slot = NULL WHERE id = $2 AND status = $3 AND cancel_hash = $4 AND cancel_hash <> ''`,
		StatusCancelled, id, StatusBooked, cancelHash)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrNotBooked
	}
	return nil
}

func (s *sqlStore) setCheckIn(ctx context.Context, id, session string) error {
	_, err := s.db.Writer().ExecContext(ctx, `UPDATE meetings_bookings SET checkin = $1 WHERE id = $2`, session, id)
	return err
}

func (s *sqlStore) checkIn(ctx context.Context, id string) (bool, error) {
	res, err := s.db.Writer().ExecContext(ctx, `UPDATE meetings_bookings SET status = $1 WHERE id = $2 AND status = $3`, StatusCheckedIn, id, StatusBooked)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (s *sqlStore) day(ctx context.Context, official string, from, until time.Time) ([]*Booking, error) {
	ids, err := store.Strings(ctx, s.db.Reader(), `SELECT b.id FROM meetings_bookings b JOIN meetings_slots s ON s.id = b.slot
		WHERE s.official = $1 AND s.starts_at >= $2 AND s.starts_at < $3 AND b.status IN ($4, $5) ORDER BY s.starts_at`,
		official, from.Unix(), until.Unix(), StatusBooked, StatusCheckedIn)
	if err != nil {
		return nil, err
	}
	var out []*Booking
	for _, id := range ids {
		b, err := s.booking(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func (s *sqlStore) purgeStale(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.Writer().ExecContext(ctx, `DELETE FROM meetings_bookings WHERE status IN ($1, $2) AND created_at < $3`,
		StatusVerifying, StatusFailed, before.Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
