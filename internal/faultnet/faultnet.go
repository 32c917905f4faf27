// Package faultnet wraps the listeners of an in-process broker so that
// tests can take it down, bring it back and slow it, without the broker or
// the client under test knowing. Use it with kfake.ListenFn: the broker
// still advertises its own address, so every connection of the client,
// bootstrap and partition leader alike, passes through the faults.
package faultnet

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Net is the fault state shared by every listener it made.
type Net struct {
	mu       sync.Mutex
	down     bool
	conns    map[*conn]struct{}
	latency  atomic.Int64 // nanoseconds added before each read
	accepted atomic.Int64
	refused  atomic.Int64
}

// New returns a Net that is up and adds no latency.
func New() *Net { return &Net{conns: map[*conn]struct{}{}} }

// Listen has the signature of net.Listen, for kfake.ListenFn.
func (n *Net) Listen(network, address string) (net.Listener, error) {
	l, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	return &listener{Listener: l, n: n}, nil
}

// Down cuts every open connection and closes each new one at once, as a
// broker that crashed and restarts in a loop does.
func (n *Net) Down() {
	n.mu.Lock()
	n.down = true
	conns := n.conns
	n.conns = map[*conn]struct{}{}
	n.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
}

// Up accepts connections again.
func (n *Net) Up() {
	n.mu.Lock()
	n.down = false
	n.mu.Unlock()
}

// CutAll closes every open connection once (a connection reset in the
// middle of whatever was in flight) and stays up.
func (n *Net) CutAll() {
	n.mu.Lock()
	conns := n.conns
	n.conns = map[*conn]struct{}{}
	n.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
}

// SetLatency delays every read the broker makes from a client by d: each
// request reaches the broker d later.
func (n *Net) SetLatency(d time.Duration) { n.latency.Store(int64(d)) }

// Accepted counts the connections the broker got while up; Refused those
// closed at once while down.
func (n *Net) Accepted() int64 { return n.accepted.Load() }

// Refused counts connections closed on arrival while down.
func (n *Net) Refused() int64 { return n.refused.Load() }

type listener struct {
	net.Listener
	n *Net
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.n.mu.Lock()
		if l.n.down {
			l.n.mu.Unlock()
			l.n.refused.Add(1)
			c.Close()
			continue
		}
		wc := &conn{Conn: c, n: l.n}
		l.n.conns[wc] = struct{}{}
		l.n.mu.Unlock()
		l.n.accepted.Add(1)
		return wc, nil
	}
}

type conn struct {
	net.Conn
	n *Net
}

func (c *conn) Read(p []byte) (int, error) {
	if d := time.Duration(c.n.latency.Load()); d > 0 {
		time.Sleep(d)
	}
	return c.Conn.Read(p)
}

func (c *conn) Close() error {
	c.n.mu.Lock()
	delete(c.n.conns, c)
	c.n.mu.Unlock()
	return c.Conn.Close()
}
