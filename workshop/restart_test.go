package workshop

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestWorkshopRestart stops the instructor's server in the middle of a workshop (its process gone, its
// database closed), lets the learners keep checking while it is down, starts a new server on the same
// database and address, and checks that every result sent or queued arrives exactly once.
func TestWorkshopRestart(t *testing.T) {
	ctx := t.Context()
	dbPath := filepath.Join(t.TempDir(), "workshop.db")
	st, err := Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := st.CreateWorkshop(ctx, "Restart", testLabs(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	stop := startServer(t, st, ws, addr, Limits{})

	const learners, rounds, downFrom, downTo = 10, 7, 3, 6 // rounds 3, 4 and 5 happen while the server is down
	dirs := make([]string, learners)
	for i := range dirs {
		dirs[i] = filepath.Join(t.TempDir(), "workshop")
		m, err := Join(ctx, nil, "http://"+addr, ws.JoinCode, fmt.Sprintf("Learner %02d", i))
		if err != nil {
			t.Fatal(err)
		}
		if err := SaveMembership(dirs[i], m); err != nil {
			t.Fatal(err)
		}
	}
	tasks := testLabs()[0].Tasks
	sent, queuedWhileDown := 0, 0
	for round := range rounds {
		if round == downFrom {
			stop()
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if round == downTo {
			if st, err = Open(ctx, dbPath); err != nil {
				t.Fatal(err)
			}
			stop = startServer(t, st, ws, addr, Limits{})
		}
		for i, dir := range dirs {
			// Each round the learner passes one more task of the first lab.
			var trs []TaskResult
			for k, tk := range tasks {
				v := Fail
				if k < round {
					v = Pass
				}
				trs = append(trs, task(tk.ID, v, 0))
			}
			dctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
			d, err := Deliver(dctx, nil, dir, result("catalog-relations", Fail, time.Now(), trs...))
			cancel()
			if err != nil {
				t.Fatalf("round %d learner %d: %v", round, i, err)
			}
			sent++
			if round >= downFrom && round < downTo {
				if d.Err == nil || d.Queued == 0 {
					t.Fatalf("round %d learner %d: delivered while the server was down: %+v", round, i, d)
				}
				queuedWhileDown++
			} else if d.Err != nil || d.Queued != 0 {
				t.Fatalf("round %d learner %d: %+v", round, i, d)
			}
		}
	}
	defer stop()
	defer st.Close()

	got, err := st.CountReports(ctx, ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	lost := sent - got
	t.Logf("%d learners, %d results sent, %d of them queued while the server was down; %d stored after the restart, %d lost",
		learners, sent, queuedWhileDown, got, lost)
	if lost != 0 {
		t.Fatalf("%d results lost across the restart", lost)
	}
	b, err := st.Board(ctx, ws, time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range b.Learners {
		for _, tk := range tasks {
			if c := r.Cells[CellKey("catalog-relations", tk.ID)]; c == nil || c.Verdict != Pass || c.Attempts != rounds {
				t.Errorf("%s %s: %+v, want pass after %d checks", r.Name, tk.ID, c, rounds)
			}
		}
	}
}
