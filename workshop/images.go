package workshop

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// ErrChecksum means a downloaded bundle does not have the SHA-256 the server advertised.
var ErrChecksum = errors.New("image bundle checksum mismatch")

// Bundle is the image bundle (`lab images save`) the instructor's server hands out.
type Bundle struct {
	Path    string
	Size    int64
	SHA256  string // hex
	ModTime time.Time
}

// BundleInfo is the answer of GET /api/images.
type BundleInfo struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	URL    string `json:"url"` // path of the bundle on the server
}

// bundlePath is where the server serves the bundle.
const bundlePath = "/images/bundle.tar"

// OpenBundle reads the bundle at path once to compute its SHA-256; progress (may be nil) is told how far
// it got.
func OpenBundle(ctx context.Context, path string, progress func(done, total int64)) (*Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("image bundle: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("image bundle: %w", err)
	}
	h := sha256.New()
	if _, err := copyProgress(ctx, h, f, 0, st.Size(), progress); err != nil {
		return nil, fmt.Errorf("image bundle %s: %w", path, err)
	}
	return &Bundle{Path: path, Size: st.Size(), SHA256: hex.EncodeToString(h.Sum(nil)), ModTime: st.ModTime()}, nil
}

// copyProgress copies src to dst, calling progress with done (starting at offset) at most ~10 times a
// second and once at the end; it stops when ctx is cancelled.
func copyProgress(ctx context.Context, dst io.Writer, src io.Reader, offset, total int64, progress func(done, total int64)) (int64, error) {
	buf := make([]byte, 256<<10)
	var n int64
	last := time.Time{}
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, rerr := src.Read(buf)
		if m > 0 {
			if _, err := dst.Write(buf[:m]); err != nil {
				return n, err
			}
			n += int64(m)
			if progress != nil && time.Since(last) > 100*time.Millisecond {
				last = time.Now()
				progress(offset+n, total)
			}
		}
		if rerr == io.EOF {
			if progress != nil {
				progress(offset+n, total)
			}
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// mayDownload: the join code (X-Lab-Join-Code header or code parameter), a learner's token or the
// instructor's token lets a client fetch the bundle.
func (s *Server) mayDownload(r *http.Request, ws *Workshop) bool {
	code := r.Header.Get("X-Lab-Join-Code")
	if code == "" {
		code = r.URL.Query().Get("code")
	}
	if code != "" && equal(code, ws.JoinCode) {
		return true
	}
	token := bearer(r)
	if token == "" {
		return false
	}
	if equal(token, ws.InstructorToken) {
		return true
	}
	l, err := s.o.Store.LearnerByToken(r.Context(), token)
	return err == nil && l.WorkshopID == ws.ID
}

func (s *Server) imagesAuth(w http.ResponseWriter, r *http.Request) bool {
	if ok, wait := s.instructor.allow(clientAddr(r), s.o.Now()); !ok {
		tooMany(w, wait)
		return false
	}
	ws, err := s.workshop(r.Context())
	if err != nil {
		s.internal(w, err)
		return false
	}
	if !s.mayDownload(r, ws) {
		writeError(w, http.StatusUnauthorized, "join code or token required")
		return false
	}
	if s.o.Bundle == nil {
		writeError(w, http.StatusNotFound, "this workshop serves no image bundle (lab workshop serve --images FILE)")
		return false
	}
	return true
}

func (s *Server) handleImagesInfo(w http.ResponseWriter, r *http.Request) {
	if !s.imagesAuth(w, r) {
		return
	}
	b := s.o.Bundle
	writeJSON(w, http.StatusOK, BundleInfo{Name: filepath.Base(b.Path), Size: b.Size, SHA256: b.SHA256, URL: bundlePath})
}

// handleImagesDownload serves the bundle with Range support (resumable), an ETag of its SHA-256 and
// its digest (RFC 9530 Repr-Digest), a bounded number at a time.
func (s *Server) handleImagesDownload(w http.ResponseWriter, r *http.Request) {
	if !s.imagesAuth(w, r) {
		return
	}
	select {
	case s.downloads <- struct{}{}:
		defer func() { <-s.downloads }()
	default:
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "the room is busy downloading: retrying shortly")
		return
	}
	b := s.o.Bundle
	f, err := os.Open(b.Path)
	if err != nil {
		s.internal(w, err)
		return
	}
	defer f.Close()
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	sum, _ := hex.DecodeString(b.SHA256)
	w.Header().Set("ETag", `"`+b.SHA256+`"`)
	w.Header().Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum)+":")
	w.Header().Set("Content-Type", "application/x-tar")
	http.ServeContent(w, r, filepath.Base(b.Path), b.ModTime, f)
}

// DownloadOptions configure DownloadBundle.
type DownloadOptions struct {
	// Server is the server's base URL; Code the join code or Token a learner's token (one is needed).
	Server, Code, Token string
	// Dir keeps the downloaded bundle (and the partial download, for resuming).
	Dir string
	// Progress is told the bytes done of the total (may be nil).
	Progress func(done, total int64)
	// Retry is told about each failed attempt before the next (may be nil).
	Retry  func(err error, wait time.Duration)
	Client *http.Client // nil: a default client
	// Attempts is how many attempts in a row may fail without progress (default 30).
	Attempts int
}

// DownloadBundle fetches the server's image bundle into o.Dir, resuming a partial download with HTTP
// Range requests (after a dropped connection, or a previous run), and verifies its SHA-256 against the
// one the server advertises. It returns the bundle's path. A bundle already downloaded and intact is
// not fetched again.
func DownloadBundle(ctx context.Context, o DownloadOptions) (string, *BundleInfo, error) {
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.Attempts <= 0 {
		o.Attempts = 30
	}
	info, err := bundleInfo(ctx, o)
	if err != nil {
		return "", nil, err
	}
	if len(info.SHA256) != 64 {
		return "", nil, fmt.Errorf("image bundle: server advertises no SHA-256")
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("image bundle: %w", err)
	}
	final := filepath.Join(o.Dir, info.SHA256+".tar")
	if st, err := os.Stat(final); err == nil && st.Size() == info.Size {
		if verify(ctx, final, info.SHA256) == nil {
			return final, info, nil
		}
	}
	part := final + ".partial"
	failures := 0
	for {
		done, err := fetchRange(ctx, o, info, part)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return "", nil, ctx.Err()
		}
		var fatal *fatalError
		if errors.As(err, &fatal) {
			return "", nil, fatal.err
		}
		if done > 0 {
			failures = 0
		}
		failures++
		if failures >= o.Attempts {
			return "", nil, fmt.Errorf("image bundle: giving up after %d attempts: %w", failures, err)
		}
		wait := min(time.Duration(failures)*time.Second, 10*time.Second)
		var busy *busyError
		if errors.As(err, &busy) {
			wait = busy.wait
		}
		if o.Retry != nil {
			o.Retry(err, wait)
		}
		select {
		case <-ctx.Done():
			return "", nil, ctx.Err()
		case <-time.After(wait):
		}
	}
	if err := verify(ctx, part, info.SHA256); err != nil {
		_ = os.Remove(part)
		return "", nil, err
	}
	if err := os.Rename(part, final); err != nil {
		return "", nil, fmt.Errorf("image bundle: %w", err)
	}
	return final, info, nil
}

type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }

type busyError struct{ wait time.Duration }

func (e *busyError) Error() string { return "server busy" }

func (o DownloadOptions) authorize(req *http.Request) {
	if o.Code != "" {
		req.Header.Set("X-Lab-Join-Code", o.Code)
	}
	if o.Token != "" {
		req.Header.Set("Authorization", "Bearer "+o.Token)
	}
}

func bundleInfo(ctx context.Context, o DownloadOptions) (*BundleInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.Server+"/api/images", nil)
	if err != nil {
		return nil, fmt.Errorf("image bundle: %w", err)
	}
	o.authorize(req)
	resp, err := o.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("image bundle: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("image bundle: %w", responseError(resp))
	}
	var info BundleInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&info); err != nil {
		return nil, fmt.Errorf("image bundle: %w", err)
	}
	return &info, nil
}

// fetchRange downloads what part lacks; it returns how many bytes it added.
func fetchRange(ctx context.Context, o DownloadOptions, info *BundleInfo, part string) (int64, error) {
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return 0, &fatalError{fmt.Errorf("image bundle: %w", err)}
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, &fatalError{fmt.Errorf("image bundle: %w", err)}
	}
	if have > info.Size {
		if err := f.Truncate(0); err != nil {
			return 0, &fatalError{err}
		}
		have, _ = f.Seek(0, io.SeekStart)
	}
	if have == info.Size {
		return 0, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.Server+info.URL, nil)
	if err != nil {
		return 0, &fatalError{fmt.Errorf("image bundle: %w", err)}
	}
	o.authorize(req)
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
		req.Header.Set("If-Range", `"`+info.SHA256+`"`)
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
	case http.StatusOK: // the server sends it all: start over
		if err := f.Truncate(0); err != nil {
			return 0, &fatalError{err}
		}
		if have, err = f.Seek(0, io.SeekStart); err != nil {
			return 0, &fatalError{err}
		}
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return 0, &busyError{wait: time.Duration(max(1, wait)) * time.Second}
	case http.StatusRequestedRangeNotSatisfiable:
		_ = f.Truncate(0)
		return 0, errors.New("range not satisfiable: starting over")
	default:
		err := responseError(resp)
		if resp.StatusCode >= 500 {
			return 0, err
		}
		return 0, &fatalError{fmt.Errorf("image bundle: %w", err)}
	}
	n, err := copyProgress(ctx, f, resp.Body, have, info.Size, o.Progress)
	if err == nil && have+n != info.Size {
		err = fmt.Errorf("download ended at %d of %d bytes", have+n, info.Size)
	}
	return n, err
}

func verify(ctx context.Context, path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("image bundle: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := copyProgress(ctx, h, f, 0, 0, nil); err != nil {
		return fmt.Errorf("image bundle: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%w: got %s, want %s", ErrChecksum, got, want)
	}
	return nil
}

// responseError turns an error response into an error with the server's message.
func responseError(resp *http.Response) error {
	var e apiError
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return &StatusError{Code: resp.StatusCode, Message: e.Error}
	}
	return &StatusError{Code: resp.StatusCode, Message: http.StatusText(resp.StatusCode)}
}

// StatusError is an error answer of the workshop server.
type StatusError struct {
	Code    int
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("workshop server: %s (HTTP %d)", e.Message, e.Code)
}
