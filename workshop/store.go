package workshop

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver: no cgo, one static binary
)

// schema is version 1 of the workshop database. Times are Unix milliseconds.
const schema = `
CREATE TABLE IF NOT EXISTS workshops (
	id               INTEGER PRIMARY KEY,
	title            TEXT NOT NULL,
	labs             TEXT NOT NULL,  -- JSON: [{slug,title,tasks:[{id,title}]}]
	join_code        TEXT NOT NULL,
	instructor_token TEXT NOT NULL,
	created_at       INTEGER NOT NULL,
	closed_at        INTEGER
);
CREATE TABLE IF NOT EXISTS learners (
	id           INTEGER PRIMARY KEY,
	workshop_id  INTEGER NOT NULL REFERENCES workshops(id),
	name         TEXT NOT NULL,
	token_hash   TEXT NOT NULL UNIQUE, -- SHA-256 of the learner's token: the token itself is not kept
	joined_at    INTEGER NOT NULL,
	last_seen_at INTEGER,
	last_verdict TEXT,
	UNIQUE (workshop_id, name COLLATE NOCASE)
);
CREATE TABLE IF NOT EXISTS reports (
	id          INTEGER PRIMARY KEY,
	learner_id  INTEGER NOT NULL REFERENCES learners(id),
	report_id   TEXT NOT NULL,
	lab         TEXT NOT NULL,
	verdict     TEXT NOT NULL,
	checked_at  INTEGER NOT NULL,
	received_at INTEGER NOT NULL,
	duration_ms INTEGER NOT NULL,
	watch       INTEGER NOT NULL,
	tasks       TEXT NOT NULL, -- JSON: [{id,verdict,checksPassed,checks,hintsUsed}]
	UNIQUE (learner_id, report_id)
);
CREATE TABLE IF NOT EXISTS cells (
	learner_id    INTEGER NOT NULL REFERENCES learners(id),
	lab           TEXT NOT NULL,
	task          TEXT NOT NULL,
	verdict       TEXT NOT NULL,
	checks_passed INTEGER NOT NULL,
	checks        INTEGER NOT NULL,
	attempts      INTEGER NOT NULL,
	hints_used    INTEGER NOT NULL,
	first_pass_at INTEGER,
	last_at       INTEGER NOT NULL,
	PRIMARY KEY (learner_id, lab, task)
);
CREATE TABLE IF NOT EXISTS lab_starts (
	learner_id INTEGER NOT NULL REFERENCES learners(id),
	lab        TEXT NOT NULL,
	started_at INTEGER NOT NULL,
	PRIMARY KEY (learner_id, lab)
);
PRAGMA user_version = 1;
`

// Store is the workshop database: an SQLite file on the instructor's machine.
type Store struct {
	db *sql.DB
}

// Open opens (creating if needed) the workshop database at path. The file is made with mode 0600 in a
// directory of mode 0700: it holds the instructor token.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open workshop database: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open workshop database: %w", err)
	}
	_ = f.Close()
	dsn := "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open workshop database %s: %w", path, err)
	}
	// One connection: writes are serialised anyway, and a room's load (tens of results a second) is far
	// below what one connection handles.
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open workshop database %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64)
}

func nullMS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// joinAlphabet has no look-alikes (0/O, 1/I/L) so a code read off a projector is typed right.
const joinAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

func newJoinCode() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = joinAlphabet[int(b[i])%len(joinAlphabet)]
	}
	return string(b)
}

func newToken(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateWorkshop starts a new workshop with a fresh join code and instructor token.
func (s *Store) CreateWorkshop(ctx context.Context, title string, labs []Lab, now time.Time) (*Workshop, error) {
	data, err := json.Marshal(labs)
	if err != nil {
		return nil, fmt.Errorf("create workshop: %w", err)
	}
	w := &Workshop{Title: title, Labs: labs, JoinCode: newJoinCode(), InstructorToken: newToken("it_"), CreatedAt: time.UnixMilli(ms(now))}
	res, err := s.db.ExecContext(ctx, `INSERT INTO workshops(title, labs, join_code, instructor_token, created_at) VALUES (?, ?, ?, ?, ?)`,
		w.Title, string(data), w.JoinCode, w.InstructorToken, ms(now))
	if err != nil {
		return nil, fmt.Errorf("create workshop: %w", err)
	}
	if w.ID, err = res.LastInsertId(); err != nil {
		return nil, fmt.Errorf("create workshop: %w", err)
	}
	return w, nil
}

const workshopColumns = `id, title, labs, join_code, instructor_token, created_at, closed_at`

func scanWorkshop(row *sql.Row) (*Workshop, error) {
	var w Workshop
	var labs string
	var created int64
	var closed sql.NullInt64
	if err := row.Scan(&w.ID, &w.Title, &labs, &w.JoinCode, &w.InstructorToken, &created, &closed); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNoWorkshop
		}
		return nil, fmt.Errorf("read workshop: %w", err)
	}
	if err := json.Unmarshal([]byte(labs), &w.Labs); err != nil {
		return nil, fmt.Errorf("read workshop %d labs: %w", w.ID, err)
	}
	w.CreatedAt = time.UnixMilli(created)
	w.ClosedAt = fromMS(closed)
	return &w, nil
}

// Workshop returns the workshop with this id.
func (s *Store) Workshop(ctx context.Context, id int64) (*Workshop, error) {
	return scanWorkshop(s.db.QueryRowContext(ctx, `SELECT `+workshopColumns+` FROM workshops WHERE id = ?`, id))
}

// Latest returns the newest workshop, or ErrNoWorkshop.
func (s *Store) Latest(ctx context.Context) (*Workshop, error) {
	return scanWorkshop(s.db.QueryRowContext(ctx, `SELECT `+workshopColumns+` FROM workshops ORDER BY id DESC LIMIT 1`))
}

// SetLabs replaces the labs of a workshop (the instructor chose others on a restart).
func (s *Store) SetLabs(ctx context.Context, id int64, labs []Lab) error {
	data, err := json.Marshal(labs)
	if err != nil {
		return fmt.Errorf("set labs: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE workshops SET labs = ? WHERE id = ?`, string(data), id); err != nil {
		return fmt.Errorf("set labs: %w", err)
	}
	return nil
}

// CloseWorkshop closes a workshop: it accepts no more joins or results; its dashboard and export stay.
func (s *Store) CloseWorkshop(ctx context.Context, id int64, now time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE workshops SET closed_at = coalesce(closed_at, ?) WHERE id = ?`, ms(now), id); err != nil {
		return fmt.Errorf("close workshop: %w", err)
	}
	return nil
}

// Join registers a learner and returns their token; only its hash is kept.
func (s *Store) Join(ctx context.Context, workshopID int64, name string, now time.Time) (*Learner, string, error) {
	token := newToken("lt_")
	res, err := s.db.ExecContext(ctx, `INSERT INTO learners(workshop_id, name, token_hash, joined_at) VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, workshopID, name, hashToken(token), ms(now))
	if err != nil {
		return nil, "", fmt.Errorf("join: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, "", ErrNameTaken
	}
	id, err := res.LastInsertId()
	if err != nil {
		return nil, "", fmt.Errorf("join: %w", err)
	}
	return &Learner{ID: id, WorkshopID: workshopID, Name: name, JoinedAt: time.UnixMilli(ms(now))}, token, nil
}

// LearnerByToken finds the learner a token belongs to, or ErrUnauthorized.
func (s *Store) LearnerByToken(ctx context.Context, token string) (*Learner, error) {
	var l Learner
	var joined int64
	err := s.db.QueryRowContext(ctx, `SELECT id, workshop_id, name, joined_at FROM learners WHERE token_hash = ?`, hashToken(token)).
		Scan(&l.ID, &l.WorkshopID, &l.Name, &joined)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnauthorized
	}
	if err != nil {
		return nil, fmt.Errorf("find learner: %w", err)
	}
	l.JoinedAt = time.UnixMilli(joined)
	return &l, nil
}

// Record stores a learner's results (validated by the caller) in one transaction and updates their
// dashboard cells. A result whose ID was stored before is counted as a duplicate and changes nothing, so
// a learner may safely send a result again. Results dated out of order (sent late from a queue) count,
// but the newest verdict of a task stays the one shown.
func (s *Store) Record(ctx context.Context, learnerID int64, results []Result, received time.Time) (accepted, duplicates int, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("record results: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, r := range results {
		at := received.Add(-time.Duration(r.AgeMS) * time.Millisecond)
		tasks, err := json.Marshal(r.Tasks)
		if err != nil {
			return 0, 0, fmt.Errorf("record results: %w", err)
		}
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO reports(learner_id, report_id, lab, verdict, checked_at, received_at, duration_ms, watch, tasks)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, learnerID, r.ID, r.Lab, r.Verdict, ms(at), ms(received), r.DurationMS, r.Watch, string(tasks))
		if err != nil {
			return 0, 0, fmt.Errorf("record results: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			duplicates++
			continue
		}
		accepted++
		if _, err := tx.ExecContext(ctx, `INSERT INTO lab_starts(learner_id, lab, started_at) VALUES (?, ?, ?)
			ON CONFLICT DO UPDATE SET started_at = min(started_at, excluded.started_at)`, learnerID, r.Lab, ms(at)); err != nil {
			return 0, 0, fmt.Errorf("record results: %w", err)
		}
		for _, t := range r.Tasks {
			var firstPass sql.NullInt64
			if t.Verdict == Pass {
				firstPass = nullMS(at)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO cells(learner_id, lab, task, verdict, checks_passed, checks, attempts, hints_used, first_pass_at, last_at)
				VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
				ON CONFLICT DO UPDATE SET
					verdict       = CASE WHEN excluded.last_at >= last_at THEN excluded.verdict ELSE verdict END,
					checks_passed = CASE WHEN excluded.last_at >= last_at THEN excluded.checks_passed ELSE checks_passed END,
					checks        = CASE WHEN excluded.last_at >= last_at THEN excluded.checks ELSE checks END,
					attempts      = attempts + 1,
					hints_used    = max(hints_used, excluded.hints_used),
					first_pass_at = CASE WHEN first_pass_at IS NULL THEN excluded.first_pass_at
					                     WHEN excluded.first_pass_at IS NULL THEN first_pass_at
					                     ELSE min(first_pass_at, excluded.first_pass_at) END,
					last_at       = max(last_at, excluded.last_at)`,
				learnerID, r.Lab, t.ID, t.Verdict, t.ChecksPassed, t.Checks, t.HintsUsed, firstPass, ms(at)); err != nil {
				return 0, 0, fmt.Errorf("record results: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE learners SET
				last_verdict = CASE WHEN ? >= coalesce(last_seen_at, 0) THEN ? ELSE last_verdict END,
				last_seen_at = max(coalesce(last_seen_at, 0), ?)
			WHERE id = ?`, ms(at), r.Verdict, ms(at), learnerID); err != nil {
			return 0, 0, fmt.Errorf("record results: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("record results: %w", err)
	}
	return accepted, duplicates, nil
}

// Board returns the dashboard of a workshop: one row per learner, sorted by name.
func (s *Store) Board(ctx context.Context, w *Workshop, now time.Time, staleAfter time.Duration) (*Board, error) {
	rows, err := s.rows(ctx, w, "l.workshop_id = ?", w.ID)
	if err != nil {
		return nil, err
	}
	return &Board{Workshop: w, Now: now, StaleAfterSec: int64(staleAfter / time.Second), Learners: rows}, nil
}

// Row returns one learner's dashboard row.
func (s *Store) Row(ctx context.Context, w *Workshop, learnerID int64) (*Row, error) {
	rows, err := s.rows(ctx, w, "l.id = ?", learnerID)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, ErrUnauthorized
	}
	return rows[0], nil
}

func (s *Store) rows(ctx context.Context, w *Workshop, where string, arg int64) ([]*Row, error) {
	q, err := s.db.QueryContext(ctx, `SELECT l.id, l.name, l.joined_at, l.last_seen_at, coalesce(l.last_verdict, ''),
			(SELECT count(*) FROM reports r WHERE r.learner_id = l.id)
		FROM learners l WHERE `+where+` ORDER BY l.name COLLATE NOCASE`, arg)
	if err != nil {
		return nil, fmt.Errorf("read dashboard: %w", err)
	}
	var out []*Row
	byID := map[int64]*Row{}
	for q.Next() {
		r := &Row{LabStarts: map[string]time.Time{}, Cells: map[string]*Cell{}}
		var joined int64
		var seen sql.NullInt64
		if err := q.Scan(&r.ID, &r.Name, &joined, &seen, &r.LastVerdict, &r.Reports); err != nil {
			q.Close()
			return nil, fmt.Errorf("read dashboard: %w", err)
		}
		r.JoinedAt, r.LastSeenAt = time.UnixMilli(joined), fromMS(seen)
		out = append(out, r)
		byID[r.ID] = r
	}
	q.Close()
	if err := q.Err(); err != nil {
		return nil, fmt.Errorf("read dashboard: %w", err)
	}

	q, err = s.db.QueryContext(ctx, `SELECT c.learner_id, c.lab, c.task, c.verdict, c.checks_passed, c.checks, c.attempts, c.hints_used, c.first_pass_at, c.last_at
		FROM cells c JOIN learners l ON l.id = c.learner_id WHERE `+where, arg)
	if err != nil {
		return nil, fmt.Errorf("read dashboard: %w", err)
	}
	for q.Next() {
		var id, last int64
		var lab, task string
		var first sql.NullInt64
		c := &Cell{}
		if err := q.Scan(&id, &lab, &task, &c.Verdict, &c.ChecksPassed, &c.Checks, &c.Attempts, &c.HintsUsed, &first, &last); err != nil {
			q.Close()
			return nil, fmt.Errorf("read dashboard: %w", err)
		}
		c.FirstPassAt, c.LastAt = fromMS(first), time.UnixMilli(last)
		if r := byID[id]; r != nil {
			r.Cells[CellKey(lab, task)] = c
		}
	}
	q.Close()
	if err := q.Err(); err != nil {
		return nil, fmt.Errorf("read dashboard: %w", err)
	}

	q, err = s.db.QueryContext(ctx, `SELECT s.learner_id, s.lab, s.started_at FROM lab_starts s JOIN learners l ON l.id = s.learner_id WHERE `+where, arg)
	if err != nil {
		return nil, fmt.Errorf("read dashboard: %w", err)
	}
	for q.Next() {
		var id, started int64
		var lab string
		if err := q.Scan(&id, &lab, &started); err != nil {
			q.Close()
			return nil, fmt.Errorf("read dashboard: %w", err)
		}
		if r := byID[id]; r != nil {
			r.LabStarts[lab] = time.UnixMilli(started)
		}
	}
	q.Close()
	if err := q.Err(); err != nil {
		return nil, fmt.Errorf("read dashboard: %w", err)
	}
	for _, r := range out {
		r.computeTimes(w)
	}
	return out, nil
}

// computeTimes fills in each passed task's time (the gap since the learner's previous first pass in the
// same lab, or since the lab's first check) and the learner's last progress.
func (r *Row) computeTimes(w *Workshop) {
	r.LastProgressAt = r.JoinedAt
	for _, lab := range w.Labs {
		var passed []*Cell
		for _, t := range lab.Tasks {
			if c := r.Cells[CellKey(lab.Slug, t.ID)]; c != nil && !c.FirstPassAt.IsZero() {
				passed = append(passed, c)
			}
		}
		sort.SliceStable(passed, func(i, j int) bool { return passed[i].FirstPassAt.Before(passed[j].FirstPassAt) })
		prev := r.LabStarts[lab.Slug]
		for _, c := range passed {
			if !prev.IsZero() && c.FirstPassAt.After(prev) {
				c.Seconds = int64(c.FirstPassAt.Sub(prev).Round(time.Second) / time.Second)
			}
			prev = c.FirstPassAt
			if c.FirstPassAt.After(r.LastProgressAt) {
				r.LastProgressAt = c.FirstPassAt
			}
		}
	}
}

// ReportRecord is one stored result, for the export.
type ReportRecord struct {
	Learner    string       `json:"learner"`
	ID         string       `json:"id"`
	Lab        string       `json:"lab"`
	Verdict    string       `json:"verdict"`
	CheckedAt  time.Time    `json:"checkedAt"`
	ReceivedAt time.Time    `json:"receivedAt"`
	DurationMS int64        `json:"durationMs"`
	Watch      bool         `json:"watch"`
	Tasks      []TaskResult `json:"tasks"`
}

// Reports returns every result of a workshop, oldest first.
func (s *Store) Reports(ctx context.Context, workshopID int64) ([]ReportRecord, error) {
	q, err := s.db.QueryContext(ctx, `SELECT l.name, r.report_id, r.lab, r.verdict, r.checked_at, r.received_at, r.duration_ms, r.watch, r.tasks
		FROM reports r JOIN learners l ON l.id = r.learner_id WHERE l.workshop_id = ? ORDER BY r.checked_at, r.id`, workshopID)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	defer q.Close()
	out := []ReportRecord{}
	for q.Next() {
		var r ReportRecord
		var checked, received int64
		var tasks string
		if err := q.Scan(&r.Learner, &r.ID, &r.Lab, &r.Verdict, &checked, &received, &r.DurationMS, &r.Watch, &tasks); err != nil {
			return nil, fmt.Errorf("read results: %w", err)
		}
		r.CheckedAt, r.ReceivedAt = time.UnixMilli(checked), time.UnixMilli(received)
		if err := json.NewDecoder(strings.NewReader(tasks)).Decode(&r.Tasks); err != nil {
			return nil, fmt.Errorf("read results: %w", err)
		}
		out = append(out, r)
	}
	if err := q.Err(); err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	return out, nil
}

// CountReports returns how many results a workshop has stored.
func (s *Store) CountReports(ctx context.Context, workshopID int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM reports r JOIN learners l ON l.id = r.learner_id WHERE l.workshop_id = ?`, workshopID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count results: %w", err)
	}
	return n, nil
}

// CountLearners returns how many learners have joined a workshop.
func (s *Store) CountLearners(ctx context.Context, workshopID int64) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM learners WHERE workshop_id = ?`, workshopID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count learners: %w", err)
	}
	return n, nil
}
