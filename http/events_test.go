package http

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/switchboard-chat/switchboard"
)

// TestLeanHijackerKeepsPipelinedBytes checks that a frame the client sends
// right behind its handshake, which net/http has already buffered, still
// reaches the WebSocket once it has buffers of its own.
func TestLeanHijackerKeepsPipelinedBytes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(&leanHijacker{ResponseWriter: w}, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			return
		}
		go func() {
			defer conn.CloseNow()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			typ, b, err := conn.Read(ctx)
			if err == nil {
				conn.Write(ctx, typ, append([]byte("echo:"), b...))
			}
		}()
	}))
	defer srv.Close()

	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	// The handshake and a masked text frame "hello" in one write.
	mask := []byte{1, 2, 3, 4}
	frame := []byte{0x81, 0x80 | 5}
	frame = append(frame, mask...)
	for i, ch := range []byte("hello") {
		frame = append(frame, ch^mask[i%4])
	}
	if _, err := c.Write(append([]byte(upgradeRequest), frame...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the handshake: %v", err)
		}
		if line == "\r\n" {
			break
		}
	}
	if _, got := readFrame(t, br); got != "echo:hello" {
		t.Errorf("echo = %q, want %q", got, "echo:hello")
	}
}

// TestLeanHijackerHoldsBackUpgrade checks the 101 response that the
// hijacker writes itself: it goes out with the first frame, not before,
// and it is what net/http would have sent, the headers set for the
// response (the security headers) included.
func TestLeanHijackerHoldsBackUpgrade(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		conn, err := websocket.Accept(&leanHijacker{ResponseWriter: w}, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			return
		}
		go func() {
			defer conn.CloseNow()
			<-release
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conn.Write(ctx, websocket.MessageText, []byte(`{"type":"ready"}`))
			conn.Read(ctx)
		}()
	}))
	defer srv.Close()

	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(upgradeRequest)); err != nil {
		t.Fatal(err)
	}
	// Nothing before the first frame.
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := c.Read(make([]byte, 1)); n > 0 || err == nil {
		t.Fatalf("read %d bytes before the first frame, want none", n)
	}
	close(release)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the handshake: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Proto != "HTTP/1.1" {
		t.Errorf("status = %s %q, want HTTP/1.1 101", resp.Proto, resp.Status)
	}
	for k, want := range map[string]string{
		// RFC 6455's example key and its accept value.
		"Sec-Websocket-Accept":   "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
		"Upgrade":                "websocket",
		"Connection":             "Upgrade",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := resp.Header.Values(k); len(got) != 1 || got[0] != want {
			t.Errorf("header %s = %q, want [%q]", k, got, want)
		}
	}
	if op, payload := readFrame(t, br); op != 0x81 || payload != `{"type":"ready"}` {
		t.Errorf("first frame = %#x %q, want a text frame {\"type\":\"ready\"}", op, payload)
	}
}

// upgradeRequest is a WebSocket handshake with RFC 6455's example key.
const upgradeRequest = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// readFrame reads a short unmasked server frame: its first byte (FIN and
// opcode) and its payload.
func readFrame(t *testing.T, br *bufio.Reader) (byte, string) {
	t.Helper()
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(br, hdr); err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	payload := make([]byte, hdr[1]&0x7f)
	if _, err := io.ReadFull(br, payload); err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	return hdr[0], string(payload)
}

// TestFrame checks the hand-assembled server frames against encoding/json
// and the cursor's canonical form.
func TestFrame(t *testing.T) {
	for _, tc := range []struct {
		typ    string
		cursor int64
		data   json.RawMessage
	}{
		{switchboard.EventReady, 1234567, json.RawMessage(`{"presence":[{"extension":"101","color":"blue"}]}`)},
		{switchboard.EventResync, 0, nil},
		{"error", 0, json.RawMessage(`{"code":"invalid","message":"Frame is not valid JSON."}`)},
	} {
		want := tc.data
		if want == nil {
			want = json.RawMessage("{}")
		}
		wantFrame, _ := json.Marshal(map[string]any{"type": tc.typ, "cursor": switchboard.FormatCursor(tc.cursor), "data": want})
		var got, wantV any
		if err := json.Unmarshal(frame(tc.typ, tc.cursor, tc.data), &got); err != nil {
			t.Errorf("frame(%q, %d) = %s: %v", tc.typ, tc.cursor, frame(tc.typ, tc.cursor, tc.data), err)
			continue
		}
		json.Unmarshal(wantFrame, &wantV)
		if !reflect.DeepEqual(got, wantV) {
			t.Errorf("frame(%q, %d) = %s, want %s", tc.typ, tc.cursor, frame(tc.typ, tc.cursor, tc.data), wantFrame)
		}
	}
}
