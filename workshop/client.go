package workshop

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// Membership is what a learner's lab remembers of the workshop they joined (membership.json in the
// learner's workshop dir, mode 0600: it holds their token).
type Membership struct {
	Server     string    `json:"server"`
	WorkshopID int64     `json:"workshopId"`
	Title      string    `json:"title"`
	Labs       []string  `json:"labs"`
	LearnerID  int64     `json:"learnerId"`
	Name       string    `json:"name"`
	Token      string    `json:"token"`
	JoinedAt   time.Time `json:"joinedAt"`
}

// HasLab reports whether lab is one of the workshop's labs.
func (m *Membership) HasLab(lab string) bool {
	for _, l := range m.Labs {
		if l == lab {
			return true
		}
	}
	return false
}

const membershipFile = "membership.json"

// ParseJoinTarget reads what a learner was given to join: a join URL (http://host:port/j/CODE), or a
// join code with the server's address in server (host:port or a URL). It returns the server's base URL
// and the code.
func ParseJoinTarget(target, server string) (base, code string, err error) {
	target = strings.TrimSpace(target)
	if !strings.Contains(target, "/") && !strings.Contains(target, ":") {
		code = strings.ToUpper(target)
		if server == "" {
			return "", "", fmt.Errorf("join code %s: which server? give --server HOST:PORT, or the join URL instead", code)
		}
		base, err = baseURL(server)
		return base, code, err
	}
	u, err := url.Parse(withScheme(target))
	if err != nil || u.Host == "" {
		return "", "", fmt.Errorf("join URL %q: want http://HOST:PORT/j/CODE", target)
	}
	if c, ok := strings.CutPrefix(strings.TrimSuffix(u.Path, "/"), "/j/"); ok {
		code = strings.ToUpper(c)
	} else if c := u.Query().Get("code"); c != "" {
		code = strings.ToUpper(c)
	}
	return u.Scheme + "://" + u.Host, code, nil
}

func withScheme(s string) string {
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return s
	}
	return "http://" + s
}

func baseURL(server string) (string, error) {
	u, err := url.Parse(withScheme(strings.TrimSpace(server)))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("server %q: want HOST:PORT or http://HOST:PORT", server)
	}
	return u.Scheme + "://" + u.Host, nil
}

// Join registers the learner name with the workshop at base using the join code.
func Join(ctx context.Context, client *http.Client, base, code, name string) (*Membership, error) {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	body, _ := json.Marshal(JoinRequest{Code: code, Name: name})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/join", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("join workshop: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("join workshop at %s: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("join workshop: %w", responseError(resp))
	}
	var jr JoinResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&jr); err != nil {
		return nil, fmt.Errorf("join workshop: %w", err)
	}
	return &Membership{Server: base, WorkshopID: jr.WorkshopID, Title: jr.Title, Labs: jr.Labs, LearnerID: jr.LearnerID,
		Name: jr.Name, Token: jr.Token, JoinedAt: jr.JoinedAt}, nil
}

// LoadMembership reads the membership in dir, or returns ErrNotJoined.
func LoadMembership(dir string) (*Membership, error) {
	data, err := os.ReadFile(filepath.Join(dir, membershipFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotJoined
	}
	if err != nil {
		return nil, fmt.Errorf("read workshop membership: %w", err)
	}
	var m Membership
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("read workshop membership: %w", err)
	}
	return &m, nil
}

// SaveMembership writes m into dir (mode 0600).
func SaveMembership(dir string, m *Membership) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("save workshop membership: %w", err)
	}
	return writeFileAtomic(filepath.Join(dir, membershipFile), data)
}

// Leave forgets the membership and any results still queued; it returns how many were queued.
func Leave(dir string) (int, error) {
	pending, err := outbox(dir).pending()
	if err != nil {
		return 0, err
	}
	if err := os.RemoveAll(outbox(dir).dir()); err != nil {
		return 0, fmt.Errorf("leave workshop: %w", err)
	}
	if err := os.Remove(filepath.Join(dir, membershipFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("leave workshop: %w", err)
	}
	return len(pending), nil
}

func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// outbox is the learner's queue of results not yet accepted by the server: one file per result in
// <dir>/outbox, mode 0600. A result is queued before it is sent and removed once the server has it, so
// a crash, a dropped connection or a server restart loses nothing. One file per result needs no lock:
// two lab processes flushing at once may send a result twice, which the server stores once.
// It is named by the learner's workshop dir.
type outbox string

// NewResultID returns a random result id.
func NewResultID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type queued struct {
	path   string
	result Result
}

func (o outbox) dir() string { return filepath.Join(string(o), "outbox") }

func (o outbox) add(r Result) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("queue result: %w", err)
	}
	// Named by time first, so a listing is oldest first.
	name := fmt.Sprintf("%020d-%s.json", r.CheckedAt.UnixNano(), r.ID)
	return writeFileAtomic(filepath.Join(o.dir(), name), data)
}

func (o outbox) pending() ([]queued, error) {
	entries, err := os.ReadDir(o.dir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read result queue: %w", err)
	}
	var out []queued
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p := filepath.Join(o.dir(), e.Name())
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // sent by another lab process meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("read result queue: %w", err)
		}
		var r Result
		if json.Unmarshal(data, &r) != nil {
			_ = os.Remove(p) // a torn file cannot be sent
			continue
		}
		out = append(out, queued{path: p, result: r})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

// Queued returns how many results wait in the outbox of a learner's workshop dir.
func Queued(dir string) (int, error) {
	p, err := outbox(dir).pending()
	return len(p), err
}

// Delivery says what became of a learner's results.
type Delivery struct {
	Sent     int  `json:"sent"`     // accepted by the server now (new or already there)
	Rejected int  `json:"rejected"` // refused as invalid (dropped: sending again would not help)
	Queued   int  `json:"queued"`   // still waiting in the outbox
	Closed   bool `json:"closed"`   // the instructor closed the workshop
	// Err is why results stayed queued (server unreachable, token unknown...); nil when none did.
	Err error `json:"-"`
}

// Deliver queues results in the outbox of the learner's workshop dir, then sends everything queued to
// the workshop server, oldest first, until the queue is empty or the server cannot take more (ctx's
// deadline bounds the time spent). Without a membership it does nothing and returns ErrNotJoined.
func Deliver(ctx context.Context, client *http.Client, dir string, results ...Result) (Delivery, error) {
	m, err := LoadMembership(dir)
	if err != nil {
		return Delivery{}, err
	}
	if client == nil {
		client = &http.Client{}
	}
	box := outbox(dir)
	for _, r := range results {
		if err := box.add(r); err != nil {
			return Delivery{}, err
		}
	}
	pending, err := box.pending()
	if err != nil {
		return Delivery{}, err
	}
	var d Delivery
	for len(pending) > 0 {
		batch := pending[:min(len(pending), MaxResultsPerPost)]
		resp, err := post(ctx, client, m, batch)
		if err != nil {
			var se *StatusError
			d.Closed = errors.As(err, &se) && se.Code == http.StatusGone
			d.Err = err
			break
		}
		for _, q := range batch {
			_ = os.Remove(q.path)
		}
		d.Sent += resp.Accepted + resp.Duplicates
		d.Rejected += len(resp.Rejected)
		pending = pending[len(batch):]
		if resp.Labs != nil && !slices.Equal(resp.Labs, m.Labs) {
			m.Labs = resp.Labs // the instructor changed the workshop's labs
			_ = SaveMembership(dir, m)
		}
	}
	d.Queued = len(pending)
	return d, nil
}

func post(ctx context.Context, client *http.Client, m *Membership, batch []queued) (*ResultsResponse, error) {
	req := ResultsRequest{Results: make([]Result, len(batch))}
	now := time.Now()
	for i, q := range batch {
		r := q.result
		r.AgeMS = max(0, now.Sub(r.CheckedAt).Milliseconds())
		req.Results[i] = r
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("send results: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, m.Server+"/api/results", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("send results: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Authorization", "Bearer "+m.Token)
	resp, err := client.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("send results: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, responseError(resp)
	}
	var rr ResultsResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&rr); err != nil {
		return nil, fmt.Errorf("send results: %w", err)
	}
	return &rr, nil
}
