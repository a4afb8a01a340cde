// Package sqlstore keeps inquiries in Tong's SQL database: it implements
// [inquiries.Store] with the schema in migrations/. Every write is one
// transaction on the single writer connection, committed synchronously
// (synchronous=FULL), so an acknowledged question or reply survives kill -9.
// Its Notifier is the database's (store.DB.Notifier): LISTEN/NOTIFY on
// PostgreSQL, so a change made on one replica wakes the live pages of
// every other.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"time"

	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/services/inquiries"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQL store.
type Store struct{ db *store.DB }

var _ inquiries.Store = (*Store)(nil)

// Open applies the migrations and returns the store.
func Open(ctx context.Context, db *store.DB) (*Store, error) {
	sub, _ := fs.Sub(migrations, "migrations")
	if _, err := db.Migrate(ctx, "inquiries", sub); err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// Notifier is the database's notifier, shared by every replica on it.
func (s *Store) Notifier() inquiries.Notifier { return s.db.Notifier() }

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// PutTopic inserts a topic.
func (s *Store) PutTopic(ctx context.Context, t *inquiries.Topic) error {
	pj, _ := json.Marshal(t.Proofs)
	_, err := s.db.Writer().ExecContext(ctx, `INSERT INTO inquiries_topics (id, agency, name, description, reply_hours, anonymous, proofs, open, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, t.ID, t.Agency, t.Name, t.Description, t.ReplyHours, b2i(t.Anonymous), string(pj), b2i(t.Open), t.CreatedAt.Unix())
	return err
}

// SetTopicOpen opens or closes an agency's topic.
func (s *Store) SetTopicOpen(ctx context.Context, agency, id string, open bool) error {
	res, err := s.db.Writer().ExecContext(ctx, `UPDATE inquiries_topics SET open = $1 WHERE id = $2 AND agency = $3`, b2i(open), id, agency)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return inquiries.ErrNotFound
	}
	return nil
}

const topicCols = `id, agency, name, description, reply_hours, anonymous, proofs, open, created_at`

func scanTopic(sc interface{ Scan(...any) error }) (*inquiries.Topic, error) {
	var t inquiries.Topic
	var anon, open, created int64
	var pj string
	if err := sc.Scan(&t.ID, &t.Agency, &t.Name, &t.Description, &t.ReplyHours, &anon, &pj, &open, &created); err != nil {
		return nil, err
	}
	t.Anonymous, t.Open, t.CreatedAt = anon == 1, open == 1, time.Unix(created, 0).UTC()
	if err := json.Unmarshal([]byte(pj), &t.Proofs); err != nil {
		return nil, err
	}
	return &t, nil
}

// Topic returns a topic by id.
func (s *Store) Topic(ctx context.Context, id string) (*inquiries.Topic, error) {
	t, err := scanTopic(s.db.Reader().QueryRowContext(ctx, `SELECT `+topicCols+` FROM inquiries_topics WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, inquiries.ErrNotFound
	}
	return t, err
}

// Topics lists topics of one agency (or all, agency ""), oldest first.
func (s *Store) Topics(ctx context.Context, agency string, openOnly bool) ([]*inquiries.Topic, error) {
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT `+topicCols+` FROM inquiries_topics
		WHERE ($1 = '' OR agency = $1) AND ($2 = 0 OR open = 1) ORDER BY agency, created_at, id`, agency, b2i(openOnly))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*inquiries.Topic
	for rows.Next() {
		t, err := scanTopic(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Create inserts an inquiry and its first message if the limits allow.
func (s *Store) Create(ctx context.Context, inq *inquiries.Inquiry, first *inquiries.Message, since time.Time, lim inquiries.Limits) error {
	pj, _ := json.Marshal(inq.Proofs)
	return s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		var perClient, global int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM inquiries WHERE client = $1 AND created_at >= $2`, inq.Client, since.Unix()).Scan(&perClient); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM inquiries WHERE created_at >= $1`, since.Unix()).Scan(&global); err != nil {
			return err
		}
		if perClient >= lim.PerClientPerHour || global >= lim.GlobalPerHour {
			return inquiries.ErrRateLimited
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO inquiries (id, reference, agency, topic, token_hash, status, proofs, session, client, created_at, updated_at, due_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			inq.ID, inq.Reference, inq.Agency, inq.Topic, inq.TokenHash, inq.Status, string(pj), inq.Session, inq.Client,
			inq.CreatedAt.Unix(), inq.UpdatedAt.Unix(), inq.DueAt.Unix()); err != nil {
			return err
		}
		return insertMessage(ctx, tx, inq.ID, first, 1)
	})
}

func insertMessage(ctx context.Context, tx *sql.Tx, id string, m *inquiries.Message, seq int) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO inquiries_messages (inquiry, seq, author, kind, staff, body, at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		id, seq, m.Author, m.Kind, m.Staff, m.Body, m.At.Unix())
	return err
}

const inquiryCols = `id, reference, agency, topic, token_hash, status, assignee, proofs, disclosed, reason, session, client, created_at, updated_at, due_at`

func scanInquiry(sc interface{ Scan(...any) error }) (*inquiries.Inquiry, error) {
	var i inquiries.Inquiry
	var pj, dj string
	var created, updated, due int64
	if err := sc.Scan(&i.ID, &i.Reference, &i.Agency, &i.Topic, &i.TokenHash, &i.Status, &i.Assignee, &pj, &dj, &i.Reason, &i.Session, &i.Client,
		&created, &updated, &due); err != nil {
		return nil, err
	}
	i.CreatedAt, i.UpdatedAt, i.DueAt = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC(), time.Unix(due, 0).UTC()
	if err := json.Unmarshal([]byte(pj), &i.Proofs); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(dj), &i.Disclosed); err != nil {
		return nil, err
	}
	return &i, nil
}

// Inquiry finds one inquiry.
func (s *Store) Inquiry(ctx context.Context, by inquiries.Lookup) (*inquiries.Inquiry, error) {
	var row *sql.Row
	switch {
	case by.TokenHash != "":
		row = s.db.Reader().QueryRowContext(ctx, `SELECT `+inquiryCols+` FROM inquiries WHERE token_hash = $1`, by.TokenHash)
	case by.Agency != "" && by.Reference != "":
		row = s.db.Reader().QueryRowContext(ctx, `SELECT `+inquiryCols+` FROM inquiries WHERE agency = $1 AND reference = $2`, by.Agency, by.Reference)
	case by.ID != "":
		row = s.db.Reader().QueryRowContext(ctx, `SELECT `+inquiryCols+` FROM inquiries WHERE id = $1`, by.ID)
	default:
		return nil, inquiries.ErrNotFound
	}
	i, err := scanInquiry(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, inquiries.ErrNotFound
	}
	return i, err
}

// Messages returns a thread's messages in order.
func (s *Store) Messages(ctx context.Context, id string) ([]inquiries.Message, error) {
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT seq, author, kind, staff, body, at FROM inquiries_messages WHERE inquiry = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []inquiries.Message
	for rows.Next() {
		var m inquiries.Message
		var at int64
		if err := rows.Scan(&m.Seq, &m.Author, &m.Kind, &m.Staff, &m.Body, &at); err != nil {
			return nil, err
		}
		m.At = time.Unix(at, 0).UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

// Update changes an inquiry whose status is one of from, and appends msg.
func (s *Store) Update(ctx context.Context, id string, from []string, ch inquiries.Change, msg *inquiries.Message, now time.Time) error {
	return s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		var status, assignee, disclosed, reason, session string
		var due int64
		err := tx.QueryRowContext(ctx, `SELECT status, assignee, disclosed, reason, session, due_at FROM inquiries WHERE id = $1`, id).Scan(&status, &assignee, &disclosed, &reason, &session, &due)
		if errors.Is(err, sql.ErrNoRows) {
			return inquiries.ErrNotFound
		}
		if err != nil {
			return err
		}
		ok := false
		for _, f := range from {
			ok = ok || f == status
		}
		if !ok {
			return inquiries.ErrConflict
		}
		if ch.Status != "" {
			status = ch.Status
		}
		if ch.Assignee != nil {
			assignee = *ch.Assignee
		}
		if ch.Disclosed != nil {
			b, _ := json.Marshal(ch.Disclosed)
			disclosed = string(b)
		}
		if ch.Reason != nil {
			reason = *ch.Reason
		}
		if ch.DueAt != nil {
			due = ch.DueAt.Unix()
		}
		if ch.Session != nil {
			session = *ch.Session
		}
		if _, err := tx.ExecContext(ctx, `UPDATE inquiries SET status = $1, assignee = $2, disclosed = $3, reason = $4, session = $5, due_at = $6, updated_at = $7 WHERE id = $8`,
			status, assignee, disclosed, reason, session, due, now.Unix(), id); err != nil {
			return err
		}
		if msg == nil {
			return nil
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM inquiries_messages WHERE inquiry = $1`, id).Scan(&n); err != nil {
			return err
		}
		if n >= inquiries.MaxMessages {
			return inquiries.ErrTooManyMessages
		}
		return insertMessage(ctx, tx, id, msg, n+1)
	})
}

// Queue lists an agency's inquiries that staff may see, oldest first.
// status "" and "open" and "overdue" mean new or assigned.
func (s *Store) Queue(ctx context.Context, agency, status string, limit int) ([]*inquiries.Inquiry, error) {
	var rows *sql.Rows
	var err error
	switch status {
	case "", "open", "overdue":
		rows, err = s.db.Reader().QueryContext(ctx, `SELECT `+inquiryCols+` FROM inquiries WHERE agency = $1 AND status IN ($2, $3) ORDER BY due_at, created_at LIMIT $4`,
			agency, inquiries.StatusNew, inquiries.StatusAssigned, limit)
	default:
		rows, err = s.db.Reader().QueryContext(ctx, `SELECT `+inquiryCols+` FROM inquiries WHERE agency = $1 AND status = $2 ORDER BY updated_at DESC LIMIT $3`,
			agency, status, limit)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*inquiries.Inquiry
	for rows.Next() {
		i, err := scanInquiry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// Counts counts an agency's inquiries per state, and the open ones past
// their reply time.
func (s *Store) Counts(ctx context.Context, agency string, now time.Time) (inquiries.Counts, error) {
	var c inquiries.Counts
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT status, COUNT(*), COALESCE(SUM(CASE WHEN due_at < $2 THEN 1 ELSE 0 END), 0) FROM inquiries WHERE agency = $1 GROUP BY status`, agency, now.Unix())
	if err != nil {
		return c, err
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n, late int
		if err := rows.Scan(&st, &n, &late); err != nil {
			return c, err
		}
		switch st {
		case inquiries.StatusNew:
			c.New, c.Overdue = n, c.Overdue+late
		case inquiries.StatusAssigned:
			c.Assigned, c.Overdue = n, c.Overdue+late
		case inquiries.StatusAnswered:
			c.Answered = n
		case inquiries.StatusClosed:
			c.Closed = n
		}
	}
	c.Open = c.New + c.Assigned
	return c, rows.Err()
}
