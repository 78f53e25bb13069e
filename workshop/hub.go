package workshop

import "sync"

// hub fans dashboard events out to the connected dashboards (server-sent event streams). A dashboard
// too slow to keep up is dropped; its browser reconnects and gets a fresh board.
type hub struct {
	mu     sync.Mutex
	subs   map[chan []byte]struct{}
	max    int
	closed bool
}

func newHub(maxSubs int) *hub { return &hub{subs: map[chan []byte]struct{}{}, max: maxSubs} }

func (h *hub) subscribe() (chan []byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || len(h.subs) >= h.max {
		return nil, false
	}
	ch := make(chan []byte, 64)
	h.subs[ch] = struct{}{}
	return ch, true
}

func (h *hub) unsubscribe(ch chan []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

func (h *hub) publish(msg []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- msg:
		default:
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// close ends every stream (the server is shutting down).
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}
