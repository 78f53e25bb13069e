package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// StateDir is lab's directory for what Docker labels cannot hold: the per-session config overlays and
// fixture copies that are bind-mounted into Backstage, and the learner's progress.
type StateDir string

// DefaultStateDir is $LAB_STATE_DIR, else $XDG_STATE_HOME/lab, else ~/.local/state/lab.
func DefaultStateDir(getenv func(string) string) (StateDir, error) {
	if d := getenv("LAB_STATE_DIR"); d != "" {
		return StateDir(d), nil
	}
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return StateDir(filepath.Join(d, "lab")), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find state dir: %w (set LAB_STATE_DIR)", err)
	}
	return StateDir(filepath.Join(home, ".local", "state", "lab")), nil
}

// SessionDir is the directory of one lab's session files.
func (d StateDir) SessionDir(lab string) string { return filepath.Join(string(d), "sessions", lab) }

// ReadJSON reads name (relative to the state dir) into v; a missing file leaves v unchanged.
func (d StateDir) ReadJSON(name string, v any) error {
	data, err := os.ReadFile(filepath.Join(string(d), name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("read state %s: %w", name, err)
	}
	return nil
}

// WriteJSON writes v to name atomically with mode 0600.
func (d StateDir) WriteJSON(name string, v any) error {
	path := filepath.Join(string(d), name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write state %s: %w", name, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}
