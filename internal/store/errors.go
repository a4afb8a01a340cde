package store

import "errors"

// SQLite's extended result codes for constraint failures
// (https://sqlite.org/rescode.html), matched without importing the driver.
const (
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
)

// PostgreSQL SQLSTATEs (https://www.postgresql.org/docs/15/errcodes-appendix.html).
const (
	pgUniqueViolation      = "23505"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
)

// sqliteCoder is modernc.org/sqlite's *Error; pgStater is pgx's
// *pgconn.PgError. Matching their methods keeps the drivers out of this
// package.
type sqliteCoder interface{ Code() int }
type pgStater interface{ SQLState() string }

func sqlState(err error) string {
	var pe pgStater
	if errors.As(err, &pe) {
		return pe.SQLState()
	}
	return ""
}

// IsUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY
// constraint failure, on either engine.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var se sqliteCoder
	if errors.As(err, &se) {
		return se.Code() == sqliteConstraintUnique || se.Code() == sqliteConstraintPrimaryKey
	}
	return sqlState(err) == pgUniqueViolation
}

// IsRetryable reports whether err is a PostgreSQL serialization failure
// or deadlock: the transaction was rolled back and may simply run again.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	s := sqlState(err)
	return s == pgSerializationFailure || s == pgDeadlockDetected
}
