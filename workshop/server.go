package workshop

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

//go:embed dashboard
var dashboardFS embed.FS

// Limits bound what clients may ask of the server.
type Limits struct {
	JoinsPerMinute      int   // join attempts per client address
	ResultsPerMinute    int   // result posts per learner
	InstructorPerMinute int   // dashboard/API requests per client address
	MaxLearners         int   // learners per workshop
	MaxBodyBytes        int64 // size of a results post
	MaxDashboards       int   // open live dashboards
	MaxDownloads        int   // image bundle downloads at once
}

// DefaultLimits suit a room of up to a few hundred learners.
func DefaultLimits() Limits {
	return Limits{
		JoinsPerMinute:      20,
		ResultsPerMinute:    120,
		InstructorPerMinute: 600,
		MaxLearners:         500,
		MaxBodyBytes:        256 << 10,
		MaxDashboards:       16,
		MaxDownloads:        8,
	}
}

// ServerOptions configure a Server.
type ServerOptions struct {
	Store      *Store
	WorkshopID int64
	// Bundle is the image bundle to serve (nil: none).
	Bundle *Bundle
	// StaleAfter is how long without progress before the dashboard highlights a learner.
	StaleAfter time.Duration
	Limits     Limits
	Logger     *slog.Logger     // nil: no logs
	Now        func() time.Time // nil: time.Now
}

// Server is the workshop's HTTP server: the learners' API, the instructor's dashboard and API, and the
// image bundle.
type Server struct {
	o          ServerOptions
	hub        *hub
	joins      *limiter
	results    *limiter
	instructor *limiter
	downloads  chan struct{}
	joinPage   *template.Template
}

// NewServer returns a server for the workshop o.WorkshopID in o.Store.
func NewServer(o ServerOptions) (*Server, error) {
	if o.Store == nil {
		return nil, errors.New("workshop server: no store")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = 10 * time.Minute
	}
	if o.Limits == (Limits{}) {
		o.Limits = DefaultLimits()
	}
	page, err := template.ParseFS(dashboardFS, "dashboard/join.html")
	if err != nil {
		return nil, fmt.Errorf("workshop server: %w", err)
	}
	return &Server{
		o:          o,
		hub:        newHub(o.Limits.MaxDashboards),
		joins:      newLimiter(o.Limits.JoinsPerMinute),
		results:    newLimiter(o.Limits.ResultsPerMinute),
		instructor: newLimiter(o.Limits.InstructorPerMinute),
		downloads:  make(chan struct{}, max(1, o.Limits.MaxDownloads)),
		joinPage:   page,
	}, nil
}

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler {
	static, _ := fs.Sub(dashboardFS, "dashboard")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /j/{code}", s.handleJoinPage)
	mux.HandleFunc("GET /dashboard", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, static, "index.html")
	})
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("POST /api/join", s.handleJoin)
	mux.HandleFunc("POST /api/results", s.handleResults)
	mux.HandleFunc("GET /api/board", s.instructorOnly(s.handleBoard))
	mux.HandleFunc("GET /api/events", s.instructorOnly(s.handleEvents))
	mux.HandleFunc("GET /api/export.json", s.instructorOnly(s.handleExport))
	mux.HandleFunc("GET /api/export.csv", s.instructorOnly(s.handleExport))
	mux.HandleFunc("POST /api/close", s.instructorOnly(s.handleClose))
	mux.HandleFunc("GET /api/images", s.handleImagesInfo)
	mux.HandleFunc("GET /images/bundle.tar", s.handleImagesDownload)
	return securityHeaders(mux)
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully (live dashboards are ended).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second, // the event stream and downloads lift it for themselves
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	srv.RegisterOnShutdown(s.hub.close)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("workshop server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	return nil
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg})
}

func tooMany(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
	writeError(w, http.StatusTooManyRequests, "too many requests: slow down")
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// decode reads a JSON body of at most limit bytes with no unknown fields.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) (int, error) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return http.StatusRequestEntityTooLarge, fmt.Errorf("request body larger than %d bytes", limit)
		}
		return http.StatusBadRequest, fmt.Errorf("bad JSON: %w", err)
	}
	if dec.More() {
		return http.StatusBadRequest, errors.New("bad JSON: more than one value")
	}
	return 0, nil
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func bearer(r *http.Request) string {
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(v)
	}
	return ""
}

func (s *Server) workshop(ctx context.Context) (*Workshop, error) {
	return s.o.Store.Workshop(ctx, s.o.WorkshopID)
}

// instructorOnly lets through requests with the instructor token: in the Authorization header, or (for
// the event stream and the export links, which a browser cannot give headers) in the token parameter.
// Changes (POST) take the header only.
func (s *Server) instructorOnly(h func(http.ResponseWriter, *http.Request, *Workshop)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := s.instructor.allow(clientAddr(r), s.o.Now()); !ok {
			tooMany(w, wait)
			return
		}
		ws, err := s.workshop(r.Context())
		if err != nil {
			s.internal(w, err)
			return
		}
		token := bearer(r)
		if token == "" && r.Method == http.MethodGet {
			token = r.URL.Query().Get("token")
		}
		if token == "" || !equal(token, ws.InstructorToken) {
			writeError(w, http.StatusUnauthorized, "instructor token required")
			return
		}
		h(w, r, ws)
	}
}

func (s *Server) internal(w http.ResponseWriter, err error) {
	s.o.Logger.Error("workshop server", "err", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}

// JoinRequest is the body of POST /api/join.
type JoinRequest struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// JoinResponse answers a join: the learner's token, which is shown only once.
type JoinResponse struct {
	LearnerID  int64     `json:"learnerId"`
	Name       string    `json:"name"`
	Token      string    `json:"token"`
	WorkshopID int64     `json:"workshopId"`
	Title      string    `json:"title"`
	Labs       []string  `json:"labs"`
	JoinedAt   time.Time `json:"joinedAt"`
}

func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
	if ok, wait := s.joins.allow(clientAddr(r), s.o.Now()); !ok {
		tooMany(w, wait)
		return
	}
	var req JoinRequest
	if status, err := decode(w, r, maxJoinBody, &req); err != nil {
		writeError(w, status, err.Error())
		return
	}
	ws, err := s.workshop(r.Context())
	if err != nil {
		s.internal(w, err)
		return
	}
	if !equal(strings.ToUpper(strings.TrimSpace(req.Code)), ws.JoinCode) {
		writeError(w, http.StatusForbidden, ErrBadCode.Error())
		return
	}
	if ws.Closed() {
		writeError(w, http.StatusGone, ErrClosed.Error())
		return
	}
	name, err := CleanName(req.Name)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if n, err := s.o.Store.CountLearners(r.Context(), ws.ID); err != nil {
		s.internal(w, err)
		return
	} else if n >= s.o.Limits.MaxLearners {
		writeError(w, http.StatusConflict, "the workshop is full")
		return
	}
	l, token, err := s.o.Store.Join(r.Context(), ws.ID, name, s.o.Now())
	if errors.Is(err, ErrNameTaken) {
		writeError(w, http.StatusConflict, fmt.Sprintf("%v: choose another name", err))
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	s.o.Logger.Info("learner joined", "name", name, "from", clientAddr(r))
	s.publishRow(r.Context(), ws, l.ID)
	resp := JoinResponse{LearnerID: l.ID, Name: l.Name, Token: token, WorkshopID: ws.ID, Title: ws.Title, Labs: ws.labSlugs(), JoinedAt: l.JoinedAt}
	writeJSON(w, http.StatusCreated, resp)
}

// ResultsRequest is the body of POST /api/results.
type ResultsRequest struct {
	Results []Result `json:"results"`
}

// ResultsResponse says what became of each posted result. A rejected result is invalid: sending it
// again will not help.
type ResultsResponse struct {
	Accepted   int        `json:"accepted"`
	Duplicates int        `json:"duplicates"`
	Rejected   []Rejected `json:"rejected"`
	// Labs are the workshop's labs now (the instructor may change them on a restart).
	Labs []string `json:"labs"`
}

// Rejected is a result the server refused, and why.
type Rejected struct {
	ID    string `json:"id"`
	Error string `json:"error"`
}

func (s *Server) handleResults(w http.ResponseWriter, r *http.Request) {
	l, err := s.o.Store.LearnerByToken(r.Context(), bearer(r))
	if errors.Is(err, ErrUnauthorized) || (err == nil && l.WorkshopID != s.o.WorkshopID) {
		writeError(w, http.StatusUnauthorized, "learner token required: join the workshop first")
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	if ok, wait := s.results.allow(strconv.FormatInt(l.ID, 10), s.o.Now()); !ok {
		tooMany(w, wait)
		return
	}
	var req ResultsRequest
	if status, err := decode(w, r, s.o.Limits.MaxBodyBytes, &req); err != nil {
		writeError(w, status, err.Error())
		return
	}
	if len(req.Results) > MaxResultsPerPost {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("at most %d results per request", MaxResultsPerPost))
		return
	}
	ws, err := s.workshop(r.Context())
	if err != nil {
		s.internal(w, err)
		return
	}
	if ws.Closed() {
		writeError(w, http.StatusGone, ErrClosed.Error())
		return
	}
	resp := ResultsResponse{Rejected: []Rejected{}, Labs: ws.labSlugs()}
	valid := make([]Result, 0, len(req.Results))
	for _, res := range req.Results {
		if err := ws.validate(&res); err != nil {
			resp.Rejected = append(resp.Rejected, Rejected{ID: res.ID, Error: err.Error()})
			continue
		}
		valid = append(valid, res)
	}
	resp.Accepted, resp.Duplicates, err = s.o.Store.Record(r.Context(), l.ID, valid, s.o.Now())
	if err != nil {
		s.internal(w, err)
		return
	}
	if resp.Accepted > 0 {
		s.publishRow(r.Context(), ws, l.ID)
	}
	writeJSON(w, http.StatusOK, resp)
}

// publishRow sends a learner's new dashboard row to the live dashboards.
func (s *Server) publishRow(ctx context.Context, ws *Workshop, learnerID int64) {
	row, err := s.o.Store.Row(ctx, ws, learnerID)
	if err != nil {
		s.o.Logger.Error("dashboard update", "err", err)
		return
	}
	s.hub.publish(sseEvent("learner", row))
}

func sseEvent(name string, v any) []byte {
	data, _ := json.Marshal(v)
	return []byte("event: " + name + "\ndata: " + string(data) + "\n\n")
}

func (s *Server) handleBoard(w http.ResponseWriter, r *http.Request, ws *Workshop) {
	b, err := s.o.Store.Board(r.Context(), ws, s.o.Now(), s.o.StaleAfter)
	if err != nil {
		s.internal(w, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// handleEvents is the dashboard's live stream: a "board" event with everything, then a "learner" event
// whenever a learner joins or reports, and a "workshop" event when it closes.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request, ws *Workshop) {
	ch, ok := s.hub.subscribe() // before reading the board, so no update falls in between
	if !ok {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "too many open dashboards")
		return
	}
	defer s.hub.unsubscribe(ch)
	b, err := s.o.Store.Board(r.Context(), ws, s.o.Now(), s.o.StaleAfter)
	if err != nil {
		s.internal(w, err)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(append([]byte("retry: 2000\n"), sseEvent("board", b)...)); err != nil {
		return
	}
	_ = rc.Flush()
	ping := time.NewTicker(20 * time.Second)
	defer ping.Stop()
	for {
		var msg []byte
		select {
		case <-r.Context().Done():
			return
		case <-ping.C:
			msg = []byte(": ping\n\n")
		case m, ok := <-ch:
			if !ok {
				return
			}
			msg = m
		}
		if _, err := w.Write(msg); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

func (s *Server) handleExport(w http.ResponseWriter, r *http.Request, ws *Workshop) {
	name := fmt.Sprintf("workshop-%d", ws.ID)
	if strings.HasSuffix(r.URL.Path, ".csv") {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		if err := WriteExportCSV(r.Context(), w, s.o.Store, ws, s.o.Now()); err != nil {
			s.o.Logger.Error("export", "err", err)
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.json"`)
	if err := WriteExportJSON(r.Context(), w, s.o.Store, ws, s.o.Now()); err != nil {
		s.o.Logger.Error("export", "err", err)
	}
}

func (s *Server) handleClose(w http.ResponseWriter, r *http.Request, ws *Workshop) {
	if err := s.o.Store.CloseWorkshop(r.Context(), ws.ID, s.o.Now()); err != nil {
		s.internal(w, err)
		return
	}
	ws, err := s.workshop(r.Context())
	if err != nil {
		s.internal(w, err)
		return
	}
	s.o.Logger.Info("workshop closed")
	s.hub.publish(sseEvent("workshop", ws))
	writeJSON(w, http.StatusOK, ws)
}

// handleJoinPage is what a learner sees opening the join URL in a browser: the command to run.
func (s *Server) handleJoinPage(w http.ResponseWriter, r *http.Request) {
	if ok, wait := s.joins.allow(clientAddr(r), s.o.Now()); !ok {
		tooMany(w, wait)
		return
	}
	ws, err := s.workshop(r.Context())
	if err != nil {
		s.internal(w, err)
		return
	}
	if !equal(strings.ToUpper(r.PathValue("code")), ws.JoinCode) {
		http.NotFound(w, r)
		return
	}
	url := "http://" + r.Host + "/j/" + ws.JoinCode
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = s.joinPage.Execute(w, map[string]any{"Title": ws.Title, "URL": url, "Closed": ws.Closed(), "Images": s.o.Bundle != nil})
}
