package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The load side uses its own small HTTP/1.1 and WebSocket clients instead
// of net/http and a WebSocket library: the benchmark must not be the
// bottleneck on its one core, and both targets (Switchboard and the relay)
// are driven by the same code, so the ratio between them is fair.

// sources rotates client connections over several loopback source
// addresses (127.0.0.1 .. 127.0.0.N) so that large connection counts do not
// run out of ephemeral ports. Only loopback is ever dialled.
type sources struct {
	n    int
	next atomic.Uint64
}

func (s *sources) dialer() *net.Dialer {
	i := s.next.Add(1) % uint64(max(s.n, 1))
	ip := net.IPv4(127, 0, 0, byte(1+i))
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
}

// dial connects to addr, which must be a loopback address.
func (s *sources) dial(ctx context.Context, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("refusing to dial %s: the benchmark targets loopback only", addr)
	}
	return s.dialer().DialContext(ctx, "tcp", addr)
}

// httpConn is one keep-alive HTTP/1.1 connection that sends one request at
// a time.
type httpConn struct {
	addr string
	src  *sources
	c    net.Conn
	br   *bufio.Reader
	buf  []byte
}

// response is the status and body of a response.
type response struct {
	status int
	body   []byte
}

// do sends a request with a JSON body (nil: none) and reads the response.
// A broken connection is redialled once for the next request.
func (h *httpConn) do(ctx context.Context, method, path, token string, body []byte) (response, error) {
	if h.c == nil {
		c, err := h.src.dial(ctx, h.addr)
		if err != nil {
			return response{}, err
		}
		h.c, h.br = c, bufio.NewReaderSize(c, 16<<10)
	}
	b := h.buf[:0]
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, h.addr...)
	b = append(b, "\r\nUser-Agent: switchboard-bench\r\n"...)
	if token != "" {
		b = append(b, "Authorization: Bearer "...)
		b = append(b, token...)
		b = append(b, "\r\n"...)
	}
	if body != nil {
		b = append(b, "Content-Type: application/json\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	h.buf = b
	if dl, ok := ctx.Deadline(); ok {
		h.c.SetDeadline(dl)
	} else {
		h.c.SetDeadline(time.Time{})
	}
	resp, err := h.exchange(b)
	if err != nil {
		h.c.Close()
		h.c = nil
	}
	return resp, err
}

func (h *httpConn) exchange(req []byte) (response, error) {
	if _, err := h.c.Write(req); err != nil {
		return response{}, err
	}
	line, err := h.br.ReadSlice('\n')
	if err != nil {
		return response{}, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return response{}, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return response{}, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, closing := -1, false, false
	for {
		line, err := h.br.ReadSlice('\n')
		if err != nil {
			return response{}, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		k, v, _ := bytes.Cut(line, []byte(":"))
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			length, _ = strconv.Atoi(string(v))
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(v, []byte("chunked"))
		case bytes.EqualFold(k, []byte("Connection")):
			closing = bytes.EqualFold(v, []byte("close"))
		}
	}
	var body []byte
	switch {
	case chunked:
		for {
			line, err := h.br.ReadSlice('\n')
			if err != nil {
				return response{}, err
			}
			n, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.SplitN(line, []byte(";"), 2)[0])), 16, 64)
			if err != nil {
				return response{}, fmt.Errorf("bad chunk size %q", line)
			}
			chunk := make([]byte, n+2)
			if _, err := io.ReadFull(h.br, chunk); err != nil {
				return response{}, err
			}
			body = append(body, chunk[:n]...)
			if n == 0 {
				break
			}
		}
	case length >= 0:
		body = make([]byte, length)
		if _, err := io.ReadFull(h.br, body); err != nil {
			return response{}, err
		}
	default:
		return response{}, errors.New("response without length")
	}
	if closing {
		h.c.Close()
		h.c = nil
	}
	return response{status: status, body: body}, nil
}

func (h *httpConn) close() {
	if h.c != nil {
		h.c.Close()
		h.c = nil
	}
}

// wsConn is a WebSocket client connection that reads text frames until it
// is closed. Pings are answered; frames are handed to onFrame on the
// reading goroutine, which must not keep the slice.
type wsConn struct {
	c       net.Conn
	br      *bufio.Reader
	wmu     sync.Mutex
	onFrame func(b []byte, at time.Time)
	done    chan struct{}
	err     error
}

// dialWS opens the WebSocket at path (with query) of addr and starts
// reading. onFrame is called for every text frame with its arrival time.
func dialWS(ctx context.Context, src *sources, addr, path, token string, onFrame func([]byte, time.Time)) (*wsConn, error) {
	c, err := src.dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	var k [16]byte
	rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n"
	if token != "" {
		req += "Authorization: Bearer " + token + "\r\n"
	}
	req += "\r\n"
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(c, 4096)
	line, err := br.ReadSlice('\n')
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("websocket handshake: %w", err)
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 101")) {
		c.Close()
		return nil, fmt.Errorf("websocket handshake: %s", bytes.TrimSpace(line))
	}
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("websocket handshake: %w", err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			break
		}
	}
	c.SetDeadline(time.Time{})
	ws := &wsConn{c: c, br: br, onFrame: onFrame, done: make(chan struct{})}
	go ws.read()
	return ws, nil
}

func (ws *wsConn) read() {
	defer close(ws.done)
	var msg []byte
	var hdr [14]byte
	for {
		if _, err := io.ReadFull(ws.br, hdr[:2]); err != nil {
			ws.err = err
			return
		}
		fin, op := hdr[0]&0x80 != 0, hdr[0]&0x0f
		n := int64(hdr[1] & 0x7f)
		switch n {
		case 126:
			if _, err := io.ReadFull(ws.br, hdr[2:4]); err != nil {
				ws.err = err
				return
			}
			n = int64(binary.BigEndian.Uint16(hdr[2:4]))
		case 127:
			if _, err := io.ReadFull(ws.br, hdr[2:10]); err != nil {
				ws.err = err
				return
			}
			n = int64(binary.BigEndian.Uint64(hdr[2:10]))
		}
		if n > 64<<20 {
			ws.err = errors.New("frame too large")
			return
		}
		// Peek whole small frames out of the buffer without copying.
		var payload []byte
		if int(n) <= ws.br.Size() {
			p, err := ws.br.Peek(int(n))
			if err != nil {
				ws.err = err
				return
			}
			payload = p
		} else {
			payload = make([]byte, n)
			if _, err := io.ReadFull(ws.br, payload); err != nil {
				ws.err = err
				return
			}
		}
		at := time.Now()
		switch op {
		case 0x1, 0x0:
			if fin && op == 0x1 && msg == nil {
				ws.onFrame(payload, at)
			} else {
				msg = append(msg, payload...)
				if fin {
					ws.onFrame(msg, at)
					msg = nil
				}
			}
		case 0x8:
			ws.writeFrame(0x8, nil)
			ws.err = io.EOF
			return
		case 0x9:
			ws.writeFrame(0xA, append([]byte(nil), payload...))
		}
		if int(n) <= ws.br.Size() {
			ws.br.Discard(int(n))
		}
	}
}

// writeFrame sends a masked frame (clients must mask).
func (ws *wsConn) writeFrame(op byte, payload []byte) error {
	ws.wmu.Lock()
	defer ws.wmu.Unlock()
	b := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var mask [4]byte
	rand.Read(mask[:])
	b = append(b, mask[:]...)
	for i, c := range payload {
		b = append(b, c^mask[i%4])
	}
	ws.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := ws.c.Write(b)
	return err
}

// close closes the connection abruptly (like a client that goes away) and
// waits for the reader to end.
func (ws *wsConn) close() {
	ws.c.Close()
	<-ws.done
}
