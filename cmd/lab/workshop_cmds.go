package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/backstage-lab/lab/checks"
	"github.com/backstage-lab/lab/cmd/lab/internal/cli"
	"github.com/backstage-lab/lab/provision"
	"github.com/backstage-lab/lab/workshop"
)

// defaultWorkshopListen is where `lab workshop serve` listens unless told otherwise. The port is fixed so
// the learners' lab finds the server again after a restart.
const defaultWorkshopListen = "127.0.0.1:7420"

// workshopReportTimeout bounds what a workshop adds to `lab check`: past it the result waits in the
// outbox for the next check.
const workshopReportTimeout = 1500 * time.Millisecond

// learnerDir is the learner's workshop dir (membership and outbox); serverDB the instructor's database.
func learnerDir(state provision.StateDir) string { return filepath.Join(string(state), "workshop") }
func serverDB(state provision.StateDir) string {
	return filepath.Join(string(state), "workshop-server", "workshop.db")
}

func newWorkshopCmd(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "workshop",
		Short: "Instructor-led workshops: a live dashboard of the room's progress",
		Long: `An instructor runs "lab workshop serve" on their laptop; learners join with the printed URL or code.
From then on each learner's "lab check" (and every --watch verdict) reports task verdicts, timings and
hints used, never files, to the instructor's dashboard. Results wait on the learner's disk while the
server is unreachable and are sent with the next check.`,
		Example: `  lab workshop serve --labs catalog-relations --listen 0.0.0.0:7420   # instructor
  lab workshop join http://10.0.0.5:7420/j/K7M2QX --name "Ada L."         # learner
  lab workshop export --format csv -o results.csv                         # instructor, afterwards`,
	}
	cmd.AddCommand(newWorkshopServeCmd(f), newWorkshopJoinCmd(f), newWorkshopStatusCmd(f), newWorkshopFlushCmd(f),
		newWorkshopLeaveCmd(f), newWorkshopCloseCmd(f), newWorkshopExportCmd(f))
	return cmd
}

type workshopServeOptions struct {
	Labs      []string
	Title     string
	Listen    string
	Advertise string
	DB        string
	New       bool
	Images    string
	Stale     time.Duration
	JSON      bool
}

func newWorkshopServeCmd(f *cli.Factory) *cobra.Command {
	o := &workshopServeOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the workshop server and dashboard (instructor)",
		Long: `Runs the workshop server until Ctrl-C. It prints the join URL and code for learners and the dashboard URL
with the instructor token. The workshop lives in an SQLite database (--db): run serve again on the same
database to carry on after a restart; --new starts another workshop in it.

By default the server listens on loopback only; give --listen 0.0.0.0:7420 (or the address of the
room's network interface) so learners' laptops reach it.`,
		Example: `  lab workshop serve --labs catalog-relations
  lab workshop serve --listen 0.0.0.0:7420 --images lab-images.tar
  lab workshop serve --new --title "CBA prep, day 2" --labs catalog-relations`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Stale <= 0 {
				return cli.FlagErrorf("--stale must be positive")
			}
			return workshopServeRun(cmd.Context(), f, o, cmd.Flags().Changed("labs"))
		},
	}
	cmd.Flags().StringSliceVar(&o.Labs, "labs", nil, "the workshop's labs, comma-separated (default: every lab)")
	cmd.Flags().StringVar(&o.Title, "title", "", "the workshop's title (default: lab workshop and the date)")
	cmd.Flags().StringVar(&o.Listen, "listen", defaultWorkshopListen, "address to listen on; 0.0.0.0:7420 for the room's network")
	cmd.Flags().StringVar(&o.Advertise, "advertise", "", "base URL learners use to reach the server (default: derived from --listen)")
	cmd.Flags().StringVar(&o.DB, "db", "", "the workshop database (default: in lab's state dir)")
	cmd.Flags().BoolVar(&o.New, "new", false, "start a new workshop (new code and token) instead of continuing the last one")
	cmd.Flags().StringVar(&o.Images, "images", "", "serve this image bundle (from `lab images save`) to the room")
	cmd.Flags().DurationVar(&o.Stale, "stale", 10*time.Minute, "highlight learners without progress for this long")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the join and dashboard details as JSON")
	return cmd
}

// workshopServeJSON is the documented shape of `lab workshop serve --json` (one object, then the server runs).
type workshopServeJSON struct {
	WorkshopID      int64    `json:"workshop_id"`
	Title           string   `json:"title"`
	Labs            []string `json:"labs"`
	Closed          bool     `json:"closed"`
	JoinCode        string   `json:"join_code"`
	JoinURL         string   `json:"join_url"`
	DashboardURL    string   `json:"dashboard_url"`
	InstructorToken string   `json:"instructor_token"`
	ImagesSHA256    string   `json:"images_sha256,omitempty"`
	DB              string   `json:"db"`
}

func workshopServeRun(ctx context.Context, f *cli.Factory, o *workshopServeOptions, labsChanged bool) error {
	state, err := f.State()
	if err != nil {
		return err
	}
	if o.DB == "" {
		o.DB = serverDB(state)
	}
	labs, err := workshopLabs(f, o.Labs)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("workshop server: listen on %s: %w (another server running? choose another with --listen)", o.Listen, err)
	}
	defer ln.Close()
	store, err := workshop.Open(ctx, o.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	ws, err := store.Latest(ctx)
	switch {
	case errors.Is(err, workshop.ErrNoWorkshop) || (err == nil && o.New):
		title := o.Title
		if title == "" {
			title = "lab workshop " + time.Now().Format("2006-01-02")
		}
		if ws, err = store.CreateWorkshop(ctx, title, labs, time.Now()); err != nil {
			return err
		}
	case err != nil:
		return err
	case labsChanged:
		if err := store.SetLabs(ctx, ws.ID, labs); err != nil {
			return err
		}
		ws.Labs = labs
	}
	var bundle *workshop.Bundle
	if o.Images != "" {
		fmt.Fprintf(f.IO.ErrOut, "Computing the SHA-256 of %s ...\n", o.Images)
		if bundle, err = workshop.OpenBundle(ctx, o.Images, nil); err != nil {
			return err
		}
	}
	base := o.Advertise
	if base == "" {
		base = advertisedURL(ln.Addr().(*net.TCPAddr))
	}
	base = strings.TrimSuffix(base, "/")
	out := workshopServeJSON{
		WorkshopID: ws.ID, Title: ws.Title, Closed: ws.Closed(), JoinCode: ws.JoinCode, JoinURL: base + "/j/" + ws.JoinCode,
		DashboardURL: base + "/dashboard#token=" + url.QueryEscape(ws.InstructorToken), InstructorToken: ws.InstructorToken, DB: o.DB,
	}
	for _, l := range ws.Labs {
		out.Labs = append(out.Labs, l.Slug)
	}
	if bundle != nil {
		out.ImagesSHA256 = bundle.SHA256
	}
	if o.JSON {
		if err := writeJSON(f, out); err != nil {
			return err
		}
	} else {
		printServeInfo(f.IO.Out, out, base, bundle != nil)
	}
	srv, err := workshop.NewServer(workshop.ServerOptions{
		Store: store, WorkshopID: ws.ID, Bundle: bundle, StaleAfter: o.Stale,
		Logger: slog.New(slog.NewTextHandler(f.IO.ErrOut, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		return err
	}
	return srv.Serve(ctx, ln)
}

func printServeInfo(w io.Writer, o workshopServeJSON, base string, images bool) {
	fmt.Fprintf(w, "Workshop %q (labs: %s), kept in %s\n", o.Title, strings.Join(o.Labs, ", "), o.DB)
	if o.Closed {
		fmt.Fprintf(w, "This workshop is closed: the dashboard and export stay; `lab workshop serve --new` starts another.\n")
	}
	host := strings.TrimPrefix(strings.TrimPrefix(base, "http://"), "https://")
	fmt.Fprintf(w, "\nLearners join with:    lab workshop join %s --name \"Your Name\"\n", o.JoinURL)
	fmt.Fprintf(w, "  or with the code:    %s  (lab workshop join %s --server %s --name ...)\n", o.JoinCode, o.JoinCode, host)
	if images {
		fmt.Fprintf(w, "Images for the room:   lab images load --from %s\n", o.JoinURL)
	}
	if strings.HasPrefix(host, "127.") || strings.HasPrefix(host, "localhost") || strings.HasPrefix(host, "[::1]") {
		fmt.Fprintf(w, "  (listening on this machine only: for the room's laptops use --listen 0.0.0.0:7420)\n")
	}
	fmt.Fprintf(w, "\nInstructor dashboard:  %s\n", o.DashboardURL)
	fmt.Fprintf(w, "  (the token in it opens the dashboard and the export: keep it off the projector)\n\n")
}

// advertisedURL is the URL learners reach a listener at: its address, or for a listener on every
// interface the first address on the room's network.
func advertisedURL(a *net.TCPAddr) string {
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "127.0.0.1"
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, ad := range addrs {
				if n, ok := ad.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
					host = n.IP.String()
					break
				}
			}
		}
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(a.Port))
}

// workshopLabs turns the chosen labs (all when none) into what the workshop keeps of them.
func workshopLabs(f *cli.Factory, slugs []string) ([]workshop.Lab, error) {
	cat, err := f.Catalog()
	if err != nil {
		return nil, err
	}
	if len(slugs) == 0 {
		for _, l := range cat.Labs {
			slugs = append(slugs, l.Slug)
		}
	}
	var out []workshop.Lab
	for _, s := range slugs {
		l, err := cat.Get(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		wl := workshop.Lab{Slug: l.Slug, Title: l.Title}
		for _, t := range l.Tasks {
			wl.Tasks = append(wl.Tasks, workshop.Task{ID: t.ID, Title: t.Title})
		}
		out = append(out, wl)
	}
	return out, nil
}

type workshopJoinOptions struct {
	Target string
	Name   string
	Server string
	JSON   bool
}

// membershipJSON is the documented shape of `lab workshop join|status --json` (the token is never printed).
type membershipJSON struct {
	Joined     bool      `json:"joined"`
	Server     string    `json:"server,omitempty"`
	WorkshopID int64     `json:"workshop_id,omitempty"`
	Title      string    `json:"title,omitempty"`
	Labs       []string  `json:"labs,omitempty"`
	Name       string    `json:"name,omitempty"`
	JoinedAt   time.Time `json:"joined_at,omitzero"`
	Queued     int       `json:"queued"`
}

func toMembershipJSON(m *workshop.Membership, queued int) membershipJSON {
	if m == nil {
		return membershipJSON{Queued: queued}
	}
	return membershipJSON{Joined: true, Server: m.Server, WorkshopID: m.WorkshopID, Title: m.Title, Labs: m.Labs,
		Name: m.Name, JoinedAt: m.JoinedAt, Queued: queued}
}

func newWorkshopJoinCmd(f *cli.Factory) *cobra.Command {
	o := &workshopJoinOptions{}
	cmd := &cobra.Command{
		Use:   "join <url|code> --name NAME",
		Short: "Join a workshop: your checks' verdicts then go to the instructor's dashboard (learner)",
		Long: `Registers you with the instructor's workshop server. Afterwards every "lab check" (and --watch verdict)
of a workshop lab sends the task verdicts, timings and hints used (never your files) to the dashboard.
If the server is unreachable, results wait in lab's state dir and go with the next check.`,
		Example: `  lab workshop join http://10.0.0.5:7420/j/K7M2QX --name "Ada L."
  lab workshop join K7M2QX --server 10.0.0.5:7420 --name "Ada L."`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Target = args[0]
			if o.Server == "" {
				o.Server = f.Getenv("LAB_WORKSHOP_SERVER")
			}
			name, err := workshop.CleanName(o.Name)
			if err != nil {
				return cli.FlagErrorf("--name: %v", err)
			}
			o.Name = name
			return workshopJoinRun(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Name, "name", "", "your name as the instructor will see it (required)")
	cmd.Flags().StringVar(&o.Server, "server", "", "the server's HOST:PORT, when joining with a code (also $LAB_WORKSHOP_SERVER)")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func workshopJoinRun(ctx context.Context, f *cli.Factory, o *workshopJoinOptions) error {
	base, code, err := workshop.ParseJoinTarget(o.Target, o.Server)
	if err != nil {
		return cli.FlagErrorf("%v", err)
	}
	if code == "" {
		return cli.FlagErrorf("%s has no join code: use the join URL (http://HOST:PORT/j/CODE) or the code with --server", o.Target)
	}
	state, err := f.State()
	if err != nil {
		return err
	}
	dir := learnerDir(state)
	if m, err := workshop.LoadMembership(dir); err == nil {
		return fmt.Errorf("already joined %q at %s as %s: `lab workshop leave` first", m.Title, m.Server, m.Name)
	}
	m, err := workshop.Join(ctx, nil, base, code, o.Name)
	if err != nil {
		return err
	}
	if err := workshop.SaveMembership(dir, m); err != nil {
		return err
	}
	if o.JSON {
		return writeJSON(f, toMembershipJSON(m, 0))
	}
	fmt.Fprintf(f.IO.Out, "Joined %q as %s (labs: %s).\n", m.Title, m.Name, strings.Join(m.Labs, ", "))
	fmt.Fprintf(f.IO.ErrOut, "From now on `lab check` reports task verdicts, timings and hints used (never your files) to the instructor.\n")
	return nil
}

func newWorkshopStatusCmd(f *cli.Factory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the workshop you joined and how many results wait to be sent (learner)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			state, err := f.State()
			if err != nil {
				return err
			}
			dir := learnerDir(state)
			m, err := workshop.LoadMembership(dir)
			if err != nil && !errors.Is(err, workshop.ErrNotJoined) {
				return err
			}
			queued, err := workshop.Queued(dir)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(f, toMembershipJSON(m, queued))
			}
			if m == nil {
				fmt.Fprintln(f.IO.Out, "Not in a workshop (join one with `lab workshop join <url> --name <name>`).")
				return nil
			}
			fmt.Fprintf(f.IO.Out, "Workshop %q at %s as %s (labs: %s); %d result(s) waiting to be sent.\n",
				m.Title, m.Server, m.Name, strings.Join(m.Labs, ", "), queued)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newWorkshopFlushCmd(f *cli.Factory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "flush",
		Short: "Send the results waiting on this machine now (learner; each check also does it)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			state, err := f.State()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			d, err := workshop.Deliver(ctx, nil, learnerDir(state))
			if err != nil {
				return err
			}
			if asJSON {
				if err := writeJSON(f, d); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(f.IO.Out, "Sent %d result(s); %d waiting.\n", d.Sent, d.Queued)
			}
			if d.Err != nil {
				return d.Err
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newWorkshopLeaveCmd(f *cli.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "leave",
		Short: "Stop reporting to the workshop (learner)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			state, err := f.State()
			if err != nil {
				return err
			}
			dir := learnerDir(state)
			if _, err := workshop.LoadMembership(dir); err != nil {
				return err
			}
			dropped, err := workshop.Leave(dir)
			if err != nil {
				return err
			}
			fmt.Fprintln(f.IO.Out, "Left the workshop; `lab check` reports to no one now.")
			if dropped > 0 {
				fmt.Fprintf(f.IO.ErrOut, "%d result(s) that were never sent were dropped.\n", dropped)
			}
			return nil
		},
	}
}

// openWorkshopDB opens the instructor's database and the chosen workshop (the latest by default).
func openWorkshopDB(ctx context.Context, f *cli.Factory, db string, id int64) (*workshop.Store, *workshop.Workshop, error) {
	if db == "" {
		state, err := f.State()
		if err != nil {
			return nil, nil, err
		}
		db = serverDB(state)
	}
	if _, err := os.Stat(db); err != nil {
		return nil, nil, fmt.Errorf("workshop database: %w (give --db)", err)
	}
	store, err := workshop.Open(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	var ws *workshop.Workshop
	if id > 0 {
		ws, err = store.Workshop(ctx, id)
	} else {
		ws, err = store.Latest(ctx)
	}
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, ws, nil
}

func newWorkshopCloseCmd(f *cli.Factory) *cobra.Command {
	var db string
	var id int64
	cmd := &cobra.Command{
		Use:   "close",
		Short: "Close the workshop: no more joins or results; the dashboard and export stay (instructor)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, ws, err := openWorkshopDB(cmd.Context(), f, db, id)
			if err != nil {
				return err
			}
			defer store.Close()
			if err := store.CloseWorkshop(cmd.Context(), ws.ID, time.Now()); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Workshop %q closed. Export it with `lab workshop export`.\n", ws.Title)
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "the workshop database (default: in lab's state dir)")
	cmd.Flags().Int64Var(&id, "workshop", 0, "the workshop's id (default: the latest)")
	return cmd
}

func newWorkshopExportCmd(f *cli.Factory) *cobra.Command {
	var db, format, output string
	var id int64
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export a workshop's results as CSV or JSON (instructor; works without the server)",
		Example: `  lab workshop export --format csv -o results.csv
  lab workshop export --format json > results.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "csv" && format != "json" {
				return cli.FlagErrorf("--format is csv or json")
			}
			store, ws, err := openWorkshopDB(cmd.Context(), f, db, id)
			if err != nil {
				return err
			}
			defer store.Close()
			w, closeOut := f.IO.Out, func() error { return nil }
			if output != "" && output != "-" {
				file, err := os.OpenFile(output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
				if err != nil {
					return fmt.Errorf("export: %w", err)
				}
				w, closeOut = file, file.Close
			}
			if format == "csv" {
				err = workshop.WriteExportCSV(cmd.Context(), w, store, ws, time.Now())
			} else {
				err = workshop.WriteExportJSON(cmd.Context(), w, store, ws, time.Now())
			}
			if cerr := closeOut(); err == nil {
				err = cerr
			}
			return err
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "the workshop database (default: in lab's state dir)")
	cmd.Flags().Int64Var(&id, "workshop", 0, "the workshop's id (default: the latest)")
	cmd.Flags().StringVar(&format, "format", "csv", "csv or json")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file (default: stdout)")
	return cmd
}

// reportToWorkshop sends a check's verdicts to the workshop the learner joined, if any. It runs after
// the report is printed, takes at most workshopReportTimeout, and never fails the check: an unreachable
// server leaves the result queued for the next check.
func reportToWorkshop(ctx context.Context, f *cli.Factory, t *checkTarget, rep *checks.Report, watch bool) {
	dir := learnerDir(t.state)
	m, err := workshop.LoadMembership(dir)
	if err != nil {
		if !errors.Is(err, workshop.ErrNotJoined) {
			fmt.Fprintf(f.IO.ErrOut, "workshop: %v\n", err)
		}
		return
	}
	if !m.HasLab(t.lab.Slug) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, workshopReportTimeout)
	defer cancel()
	d, err := workshop.Deliver(ctx, nil, dir, workshopResult(t.lab.Slug, rep, readProgress(t.state, t.lab.Slug), watch, time.Now()))
	switch {
	case err != nil:
		fmt.Fprintf(f.IO.ErrOut, "workshop: %v\n", err)
	case d.Closed:
		fmt.Fprintf(f.IO.ErrOut, "workshop: the instructor closed %q; `lab workshop leave` stops reporting.\n", m.Title)
	case d.Err != nil:
		fmt.Fprintf(f.IO.ErrOut, "workshop: %d result(s) wait to be sent (%v); they go with your next check.\n", d.Queued, d.Err)
	}
}

// workshopResult is what a workshop learns of a check: verdicts, counts, timings, hints; no messages
// (they may quote the learner's files).
func workshopResult(lab string, rep *checks.Report, p *progress, watch bool, now time.Time) workshop.Result {
	r := workshop.Result{ID: workshop.NewResultID(), Lab: lab, Verdict: string(rep.Verdict), CheckedAt: now,
		DurationMS: rep.DurationMS, Watch: watch, Tasks: []workshop.TaskResult{}}
	for _, tr := range rep.Tasks {
		wt := workshop.TaskResult{ID: tr.ID, Verdict: string(tr.Verdict), Checks: len(tr.Checks)}
		for _, c := range tr.Checks {
			if c.Verdict == checks.Pass {
				wt.ChecksPassed++
			}
		}
		if tp := p.Tasks[tr.ID]; tp != nil {
			wt.HintsUsed = tp.HintsShown
		}
		r.Tasks = append(r.Tasks, wt)
	}
	return r
}

// loadImagesFrom downloads the workshop server's image bundle into the state dir (resumable, verified)
// and loads it into Docker.
func loadImagesFrom(ctx context.Context, f *cli.Factory, eng provision.Engine, from string) error {
	base, code, err := workshop.ParseJoinTarget(from, f.Getenv("LAB_WORKSHOP_SERVER"))
	if err != nil {
		return cli.FlagErrorf("--from: %v", err)
	}
	state, err := f.State()
	if err != nil {
		return err
	}
	token := ""
	if m, err := workshop.LoadMembership(learnerDir(state)); err == nil && m.Server == base {
		token = m.Token
	}
	if code == "" && token == "" {
		return cli.FlagErrorf("--from needs the join URL (http://HOST:PORT/j/CODE) the instructor shows")
	}
	p := &downloadProgress{w: f.IO.ErrOut, tty: f.IO.ErrTTY, start: time.Now()}
	path, info, err := workshop.DownloadBundle(ctx, workshop.DownloadOptions{
		Server: base, Code: code, Token: token, Dir: filepath.Join(string(state), "images"),
		Progress: p.update,
		Retry: func(err error, wait time.Duration) {
			p.newline()
			fmt.Fprintf(f.IO.ErrOut, "download interrupted (%v): resuming in %s\n", err, wait)
		},
	})
	p.newline()
	if err != nil {
		return err
	}
	fmt.Fprintf(f.IO.ErrOut, "Verified %s (SHA-256 %s); loading it into Docker ...\n", info.Name, info.SHA256[:16])
	in, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("load images: %w", err)
	}
	defer in.Close()
	if err := eng.LoadImages(ctx, bufio.NewReaderSize(in, 1<<20)); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "Loaded %s from %s.\n", info.Name, base)
	return nil
}

// downloadProgress shows a download's progress on stderr: one updating line on a terminal, else a line
// every 10%.
type downloadProgress struct {
	w       io.Writer
	tty     bool
	start   time.Time
	lastPct int
	drawn   bool
	from    int64 // bytes there before this run (a resumed download)
	started bool
}

func (p *downloadProgress) update(done, total int64) {
	if total <= 0 {
		return
	}
	if !p.started {
		p.started, p.from, p.start = true, done, time.Now()
	}
	pct := int(done * 100 / total)
	rate := float64(done-p.from) / max(time.Since(p.start).Seconds(), 0.001) / (1 << 20)
	line := fmt.Sprintf("downloading images: %3d%%  %d of %d MB  %.1f MB/s", pct, done>>20, total>>20, rate)
	if p.tty {
		fmt.Fprintf(p.w, "\r%s", line)
		p.drawn = true
		return
	}
	if pct/10 != p.lastPct/10 || done == total {
		fmt.Fprintln(p.w, line)
	}
	p.lastPct = pct
}

func (p *downloadProgress) newline() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}
