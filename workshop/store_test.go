package workshop

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStoreRecordBuildsTheBoard(t *testing.T) {
	ctx := t.Context()
	st := openTestStore(t, "")
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	ws, err := st.CreateWorkshop(ctx, "W", testLabs(), t0)
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := st.Join(ctx, ws.ID, "Ada", t0)
	if err != nil {
		t.Fatal(err)
	}
	first := result("catalog-relations", Fail, t0, task("owner-ref", Fail, 0), task("system-in-domain", Fail, 0))
	recv := t0.Add(time.Minute)
	// Dated by the server's clock: received minus age.
	first.AgeMS = int64(time.Minute / time.Millisecond)
	second := result("catalog-relations", Fail, t0, task("owner-ref", Pass, 1), task("system-in-domain", Fail, 2))
	second.AgeMS = 0 // checked at t0+3m, received then
	if a, d, err := st.Record(ctx, l.ID, []Result{first}, recv); err != nil || a != 1 || d != 0 {
		t.Fatalf("Record = %d, %d, %v", a, d, err)
	}
	if a, d, err := st.Record(ctx, l.ID, []Result{second}, t0.Add(3*time.Minute)); err != nil || a != 1 || d != 0 {
		t.Fatalf("Record = %d, %d, %v", a, d, err)
	}
	// The same result again (a retry after a lost answer) changes nothing.
	if a, d, err := st.Record(ctx, l.ID, []Result{second}, t0.Add(4*time.Minute)); err != nil || a != 0 || d != 1 {
		t.Fatalf("Record duplicate = %d, %d, %v", a, d, err)
	}
	// A result queued while the server was down arrives late, dated before the latest one: it counts as an
	// attempt but does not replace the newer verdict.
	late := result("catalog-relations", Fail, t0, task("owner-ref", Fail, 0))
	late.AgeMS = int64(3 * time.Minute / time.Millisecond)
	if _, _, err := st.Record(ctx, l.ID, []Result{late}, t0.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}

	b, err := st.Board(ctx, ws, t0.Add(6*time.Minute), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Learners) != 1 {
		t.Fatalf("learners = %d, want 1", len(b.Learners))
	}
	r := b.Learners[0]
	owner := r.Cells[CellKey("catalog-relations", "owner-ref")]
	if owner == nil || owner.Verdict != Pass || owner.Attempts != 3 || owner.HintsUsed != 1 || owner.ChecksPassed != 2 {
		t.Fatalf("owner-ref cell = %+v", owner)
	}
	if !owner.FirstPassAt.Equal(t0.Add(3 * time.Minute)) {
		t.Errorf("owner-ref first pass = %v, want %v", owner.FirstPassAt, t0.Add(3*time.Minute))
	}
	// The lab started with the first check (t0), so the task took 3 minutes.
	if owner.Seconds != 180 {
		t.Errorf("owner-ref seconds = %d, want 180", owner.Seconds)
	}
	sys := r.Cells[CellKey("catalog-relations", "system-in-domain")]
	if sys == nil || sys.Verdict != Fail || sys.HintsUsed != 2 || sys.Seconds != 0 || !sys.FirstPassAt.IsZero() {
		t.Fatalf("system-in-domain cell = %+v", sys)
	}
	if r.Reports != 3 || r.LastVerdict != Fail || !r.LastProgressAt.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("row = reports %d, last verdict %q, last progress %v", r.Reports, r.LastVerdict, r.LastProgressAt)
	}
	if n, _ := st.CountReports(ctx, ws.ID); n != 3 {
		t.Errorf("CountReports = %d, want 3", n)
	}
}

func TestStoreTimePerTaskIsTheGapBetweenPasses(t *testing.T) {
	ctx := t.Context()
	st := openTestStore(t, "")
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	ws, _ := st.CreateWorkshop(ctx, "W", testLabs(), t0)
	l, _, _ := st.Join(ctx, ws.ID, "Ada", t0)
	at := func(min int, tasks ...TaskResult) {
		t.Helper()
		if _, _, err := st.Record(ctx, l.ID, []Result{result("catalog-relations", Fail, t0, tasks...)}, t0.Add(time.Duration(min)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	at(0, task("owner-ref", Fail, 0), task("system-in-domain", Fail, 0), task("depends-on", Fail, 0))
	at(4, task("owner-ref", Fail, 0), task("system-in-domain", Pass, 0), task("depends-on", Fail, 0)) // done out of order
	at(10, task("owner-ref", Pass, 0), task("system-in-domain", Pass, 0), task("depends-on", Fail, 0))
	b, err := st.Board(ctx, ws, t0.Add(11*time.Minute), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	cells := b.Learners[0].Cells
	if got := cells[CellKey("catalog-relations", "system-in-domain")].Seconds; got != 240 {
		t.Errorf("system-in-domain seconds = %d, want 240", got)
	}
	if got := cells[CellKey("catalog-relations", "owner-ref")].Seconds; got != 360 {
		t.Errorf("owner-ref seconds = %d, want 360", got)
	}
}

func TestStoreJoinNamesAreUniquePerWorkshop(t *testing.T) {
	ctx := t.Context()
	st := openTestStore(t, "")
	ws, _ := st.CreateWorkshop(ctx, "W", testLabs(), time.Now())
	if _, _, err := st.Join(ctx, ws.ID, "Ada", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Join(ctx, ws.ID, "ada", time.Now()); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("second Ada: err = %v, want ErrNameTaken", err)
	}
	other, _ := st.CreateWorkshop(ctx, "W2", testLabs(), time.Now())
	if _, _, err := st.Join(ctx, other.ID, "Ada", time.Now()); err != nil {
		t.Fatalf("Ada in another workshop: %v", err)
	}
}

func TestStoreKeepsOnlyTokenHashes(t *testing.T) {
	ctx := t.Context()
	st := openTestStore(t, "")
	ws, _ := st.CreateWorkshop(ctx, "W", testLabs(), time.Now())
	l, token, err := st.Join(ctx, ws.ID, "Ada", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.LearnerByToken(ctx, token)
	if err != nil || got.ID != l.ID {
		t.Fatalf("LearnerByToken = %+v, %v", got, err)
	}
	if _, err := st.LearnerByToken(ctx, token+"x"); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("wrong token: err = %v", err)
	}
	var n int
	if err := st.db.QueryRowContext(ctx, `SELECT count(*) FROM learners WHERE token_hash = ?`, token).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the token itself is stored (%d, %v)", n, err)
	}
}

func TestStoreSurvivesReopenAndClose(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state", "workshop.db")
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	ws, _ := st.CreateWorkshop(ctx, "W", testLabs(), time.Now())
	l, token, _ := st.Join(ctx, ws.ID, "Ada", time.Now())
	if _, _, err := st.Record(ctx, l.ID, []Result{result("catalog-relations", Pass, time.Now(), task("owner-ref", Pass, 0))}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := st.CloseWorkshop(ctx, ws.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("database mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}

	st = openTestStore(t, path)
	got, err := st.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.JoinCode != ws.JoinCode || got.InstructorToken != ws.InstructorToken || !got.Closed() || len(got.Labs) != 2 {
		t.Fatalf("reopened workshop = %+v", got)
	}
	if _, err := st.LearnerByToken(ctx, token); err != nil {
		t.Fatalf("learner token after reopen: %v", err)
	}
	b, err := st.Board(ctx, got, time.Now(), time.Minute)
	if err != nil || len(b.Learners) != 1 || b.Learners[0].Cells[CellKey("catalog-relations", "owner-ref")].Verdict != Pass {
		t.Fatalf("board after reopen = %+v, %v", b, err)
	}
}

func TestCleanName(t *testing.T) {
	for _, ok := range []string{"Ada", "Ada L.", "  José   María ", "O'Neil", "team-7", "李雷"} {
		if _, err := CleanName(ok); err != nil {
			t.Errorf("CleanName(%q): %v", ok, err)
		}
	}
	if got, _ := CleanName(" Ada\n  Lovelace "); got != "Ada Lovelace" {
		t.Errorf("CleanName collapses spaces: got %q", got)
	}
	for _, bad := range []string{"", "   ", "=HYPERLINK(1)", "-x", "<b>x</b>", "x\x00", "@me", strings.Repeat("a", 41)} {
		if _, err := CleanName(bad); err == nil {
			t.Errorf("CleanName(%q) accepted", bad)
		}
	}
}
