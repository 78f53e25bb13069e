package workshop

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Export is the JSON export of a workshop: the final dashboard and every result received.
type Export struct {
	Workshop *Workshop      `json:"workshop"`
	Learners []*Row         `json:"learners"`
	Results  []ReportRecord `json:"results"`
}

// WriteExportJSON writes the workshop's dashboard and full result history as JSON.
func WriteExportJSON(ctx context.Context, w io.Writer, s *Store, ws *Workshop, now time.Time) error {
	b, err := s.Board(ctx, ws, now, 0)
	if err != nil {
		return err
	}
	res, err := s.Reports(ctx, ws.ID)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(Export{Workshop: ws, Learners: b.Learners, Results: res}); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// csvHeader is the header of the CSV export: one line per learner and task.
func csvHeader() []string {
	return []string{"learner", "lab", "task", "task_title", "verdict", "passed", "first_pass_at", "seconds", "attempts", "hints_used", "last_check_at"}
}

// WriteExportCSV writes one line per learner and task of the workshop's labs (a task never checked has
// an empty verdict), for a spreadsheet.
func WriteExportCSV(ctx context.Context, w io.Writer, s *Store, ws *Workshop, now time.Time) error {
	b, err := s.Board(ctx, ws, now, 0)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader())
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, r := range b.Learners {
		for _, lab := range ws.Labs {
			for _, t := range lab.Tasks {
				c := r.Cells[CellKey(lab.Slug, t.ID)]
				if c == nil {
					c = &Cell{}
				}
				passed := strconv.FormatBool(!c.FirstPassAt.IsZero())
				_ = cw.Write([]string{r.Name, lab.Slug, t.ID, t.Title, c.Verdict, passed, stamp(c.FirstPassAt),
					strconv.FormatInt(c.Seconds, 10), strconv.Itoa(c.Attempts), strconv.Itoa(c.HintsUsed), stamp(c.LastAt)})
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
