package workshop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestE2EWorkshopLoad100Learners is a bounded load test on loopback: 100 learners report a check every
// 3 s for 30 s (about 1000 results) while a dashboard follows the event stream. It reports the latency
// a learner's `lab check` sees (queue to disk, POST, dequeue) and the delay until the dashboard gets the
// update, and fails if any result is lost. Skipped with -short.
func TestE2EWorkshopLoad100Learners(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: 30 s")
	}
	const learners, every, duration = 100, 3 * time.Second, 30 * time.Second
	ctx, cancel := context.WithTimeout(t.Context(), duration+30*time.Second)
	defer cancel()
	st := openTestStore(t, "")
	ws, err := st.CreateWorkshop(ctx, "Load", testLabs(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	limits := DefaultLimits()
	limits.JoinsPerMinute = 1000 // the whole room joins from one loopback address here
	addr := freeAddr(t)
	stop := startServer(t, st, ws, addr, limits)
	defer stop()
	base := "http://" + addr

	// The dashboard: note when each learner's n-th result shows up in the event stream.
	var mu sync.Mutex
	sentAt := map[string]time.Time{}  // "name#n" -> when the learner's lab started delivering result n
	shownAt := map[string]time.Time{} // "name#n" -> when the dashboard got the row with n results
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/events?token="+ws.InstructorToken, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	go func() {
		r := bufio.NewReaderSize(resp.Body, 1<<20)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			data, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "data: ")
			if !ok {
				continue
			}
			var row Row
			if json.Unmarshal([]byte(data), &row) == nil && row.Name != "" {
				mu.Lock()
				shownAt[fmt.Sprintf("%s#%d", row.Name, row.Reports)] = time.Now()
				mu.Unlock()
			}
		}
	}()

	var wg sync.WaitGroup
	latencies := make(chan time.Duration, learners*20)
	failures := make(chan string, learners*20)
	deadline := time.Now().Add(duration)
	sent := make([]int, learners)
	for i := range learners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("Learner %03d", i)
			// Each check is a new lab process: a new connection each time.
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			dir := filepath.Join(t.TempDir(), "workshop")
			m, err := Join(ctx, client, base, ws.JoinCode, name)
			if err != nil {
				failures <- fmt.Sprintf("%s: join: %v", name, err)
				return
			}
			if err := SaveMembership(dir, m); err != nil {
				failures <- err.Error()
				return
			}
			time.Sleep(rand.N(every)) // spread the room over the interval
			tasks := testLabs()[0].Tasks
			for n := 1; time.Now().Before(deadline); n++ {
				var trs []TaskResult
				for k, tk := range tasks {
					v := Fail
					if k < n/3 {
						v = Pass
					}
					trs = append(trs, task(tk.ID, v, n%3))
				}
				mu.Lock()
				sentAt[fmt.Sprintf("%s#%d", name, n)] = time.Now()
				mu.Unlock()
				start := time.Now()
				dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				d, err := Deliver(dctx, client, dir, result("catalog-relations", Fail, time.Now(), trs...))
				cancel()
				latencies <- time.Since(start)
				sent[i]++
				if err != nil || d.Err != nil || d.Queued != 0 {
					failures <- fmt.Sprintf("%s result %d: %+v %v", name, n, d, err)
				}
				time.Sleep(every - time.Since(start))
			}
		}()
	}
	wg.Wait()
	close(latencies)
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	total := 0
	for _, n := range sent {
		total += n
	}
	stored, err := st.CountReports(ctx, ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	var lat []time.Duration
	for l := range latencies {
		lat = append(lat, l)
	}
	time.Sleep(500 * time.Millisecond) // let the last events arrive
	mu.Lock()
	var shown []time.Duration
	for k, s := range sentAt {
		if at, ok := shownAt[k]; ok {
			shown = append(shown, at.Sub(s))
		}
	}
	mu.Unlock()
	p50, p99, worst := percentiles(lat)
	s50, s99, _ := percentiles(shown)
	t.Logf("%d learners every %v for %v: %d results sent, %d stored, %d lost", learners, every, duration, total, stored, total-stored)
	t.Logf("report latency (lab check's view: queue, POST, dequeue): p50 %v, p99 %v, max %v", p50, p99, worst)
	t.Logf("report to dashboard event: p50 %v, p99 %v (%d of %d updates seen)", s50, s99, len(shown), total)
	if stored != total {
		t.Fatalf("%d results lost", total-stored)
	}
	if total < learners*9 {
		t.Errorf("only %d results sent, want about %d", total, learners*10)
	}
	if p99 > 2*time.Second {
		t.Errorf("p99 report latency %v, want under 2s", p99)
	}
}

func percentiles(d []time.Duration) (p50, p99, maxD time.Duration) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	slices.Sort(d)
	at := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
	return at(0.50), at(0.99), d[len(d)-1]
}
