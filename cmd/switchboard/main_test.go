package main

// End-to-end tests: they build the real binary, run it on a free port with
// its own data directory, and drive it over HTTP and WebSocket as a client
// would. Every REST exchange is checked against docs/openapi.yaml.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/switchboard-chat/switchboard/docs/openapitest"
)

var (
	binary string // the switchboard binary under test
	spec   *openapitest.Validator
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "switchboard-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "switchboard")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	code := m.Run()
	// When the whole suite ran, every documented operation must have been
	// exercised against the real server (the WebSocket upgrade is checked by
	// the stream tests instead).
	if code == 0 && spec != nil && flag.Lookup("test.run").Value.String() == "" {
		for _, op := range spec.Uncovered() {
			if op != "GET /api/v1/events" {
				fmt.Fprintln(os.Stderr, "FAIL: documented operation never exercised:", op)
				code = 1
			}
		}
	}
	os.RemoveAll(dir)
	if templateDir != "" {
		os.RemoveAll(templateDir)
	}
	os.Exit(code)
}

// cli runs a subcommand of the binary and returns its stdout, stderr and
// exit code.
func cli(t *testing.T, data string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, append(args, "--data", data)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// mustCLI runs a subcommand that must succeed.
func mustCLI(t *testing.T, data string, args ...string) string {
	t.Helper()
	out, errs, code := cli(t, data, "", args...)
	if code != 0 {
		t.Fatalf("switchboard %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

// server is a running switchboard binary.
type server struct {
	t      *testing.T
	data   string
	url    string
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	templateOnce sync.Once
	templateDir  string
)

// newData returns a data directory with domain acme.example (101 office
// manager, 102, 103) and globex.example (101, 102), all with password
// "password-EXT". The CLI builds it once; each test gets a copy.
func newData(t *testing.T) string {
	t.Helper()
	templateOnce.Do(func() {
		dir, err := os.MkdirTemp("", "switchboard-template")
		if err != nil {
			t.Fatal(err)
		}
		mustCLI(t, dir, "domain", "add", "acme.example", "--name", "Acme Corp")
		mustCLI(t, dir, "domain", "add", "globex.example", "--name", "Globex")
		for _, u := range []struct{ addr, name, level string }{
			{"101@acme.example", "Avery Brooks", "office-manager"},
			{"102@acme.example", "Blake Rivera", "basic"},
			{"103@acme.example", "Casey Chen", "basic"},
			{"101@globex.example", "Gina Globex", "basic"},
			{"102@globex.example", "Gus Globex", "basic"},
		} {
			ext, _, _ := strings.Cut(u.addr, "@")
			mustCLI(t, dir, "user", "add", u.addr, "--name", u.name, "--level", u.level, "--password", "password-"+ext)
		}
		templateDir = dir
	})
	if templateDir == "" {
		t.Fatal("no template data directory")
	}
	data := t.TempDir()
	entries, err := os.ReadDir(templateDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(templateDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(data, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

// startServer runs `switchboard serve` on data and waits until it serves.
func startServer(t *testing.T, data string, extra ...string) *server {
	t.Helper()
	s := &server{t: t, data: data, stderr: &syncBuffer{}, exited: make(chan error, 1)}
	s.start(extra...)
	t.Cleanup(func() { s.stop() })
	return s
}

func (s *server) start(extra ...string) {
	s.t.Helper()
	args := []string{"serve", "--addr", "127.0.0.1:0", "--data", s.data, "--presence-grace", "300ms"}
	if !slices.ContainsFunc(extra, func(a string) bool { return strings.HasPrefix(a, "--sip-addr") }) {
		args = append(args, "--sip-addr", "") // no SIP unless the test asks for it
	}
	args = append(args, extra...)
	s.cmd = exec.Command(binary, args...)
	s.cmd.Stderr = s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.exited = make(chan error, 1)
	go func(cmd *exec.Cmd) { s.exited <- cmd.Wait() }(s.cmd)
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "Switchboard is serving on "); ok {
				urlc <- u
			}
		}
	}()
	select {
	case s.url = <-urlc:
	case err := <-s.exited:
		s.t.Fatalf("server exited before serving: %v\n%s", err, s.stderr.String())
	case <-time.After(30 * time.Second):
		s.t.Fatalf("server did not start:\n%s", s.stderr.String())
	}
}

// kill stops the server with SIGKILL, as a crash would.
func (s *server) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
	s.cmd = nil
}

// stop stops the server with SIGTERM and returns its exit error.
func (s *server) stop() error {
	if s.cmd == nil {
		return nil
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	defer func() { s.cmd = nil }()
	select {
	case err := <-s.exited:
		return err
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		s.t.Errorf("server did not stop within 15s of SIGTERM")
		return <-s.exited
	}
}

// client is a signed-in user of a server.
type client struct {
	t     *testing.T
	s     *server
	token string
	ext   string
}

// login signs in addr with its test password.
func (s *server) login(addr string) *client {
	s.t.Helper()
	ext, _, _ := strings.Cut(addr, "@")
	c := &client{t: s.t, s: s, ext: ext}
	var resp struct {
		Token string `json:"token"`
	}
	c.mustDo("POST", "/api/v1/login", map[string]string{"username": addr, "password": "password-" + ext}, 200, &resp)
	c.token = resp.Token
	return c
}

// do sends a request (body: nil, a string of raw JSON, or a value to
// encode) and returns the status and body. The exchange is checked against
// the OpenAPI document.
func (c *client) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	return c.request(method, path, body, true)
}

// request is do, with the OpenAPI check optional (for routes that are
// deliberately not in the document).
func (c *client) request(method, path string, body any, checkSpec bool) (int, []byte) {
	c.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			c.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, c.s.url+path, bytes.NewReader(raw))
	if err != nil {
		c.t.Fatal(err)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read: %v", method, path, err)
	}
	if checkSpec {
		req.Body = io.NopCloser(bytes.NewReader(raw))
		getSpec(c.t).Check(c.t, req, raw, resp, out)
	}
	return resp.StatusCode, out
}

// mustDo is do that fails the test unless the status is want, and decodes
// the response into out (if not nil).
func (c *client) mustDo(method, path string, body any, want int, out any) {
	c.t.Helper()
	status, b := c.do(method, path, body)
	if status != want {
		c.t.Fatalf("%s %s = %d %s, want %d", method, path, status, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

var specOnce sync.Once

func getSpec(t *testing.T) *openapitest.Validator {
	specOnce.Do(func() { spec = openapitest.New(t) })
	return spec
}

// wire types as a client sees them
type conversation struct {
	ID          string           `json:"id"`
	Kind        string           `json:"kind"`
	Name        string           `json:"name"`
	Direct      bool             `json:"direct"`
	Members     []string         `json:"members"`
	Read        map[string]int64 `json:"read"`
	LastSeq     int64            `json:"last_seq"`
	LastMessage *message         `json:"last_message"`
	Unread      int              `json:"unread"`
	LastReadSeq int64            `json:"last_read_seq"`
}

type message struct {
	ID             string  `json:"id"`
	ConversationID string  `json:"conversation_id"`
	Seq            int64   `json:"seq"`
	ClientID       string  `json:"client_id"`
	Sender         string  `json:"sender"`
	Body           string  `json:"body"`
	Kind           string  `json:"kind"`
	EditedAt       *string `json:"edited_at"`
	Deleted        bool    `json:"deleted"`
}

type frame struct {
	Type   string          `json:"type"`
	Cursor string          `json:"cursor"`
	Data   json.RawMessage `json:"data"`
}

func (c *client) conversation(members []string, name string) conversation {
	c.t.Helper()
	var conv conversation
	status, b := c.do("POST", "/api/v1/conversations", map[string]any{"members": members, "name": name})
	if status != 201 && status != 200 {
		c.t.Fatalf("create conversation = %d %s", status, b)
	}
	if err := json.Unmarshal(b, &conv); err != nil {
		c.t.Fatal(err)
	}
	return conv
}

func (c *client) send(convID, clientID, body string) message {
	c.t.Helper()
	var m message
	c.mustDo("POST", "/api/v1/conversations/"+convID+"/messages", map[string]string{"client_id": clientID, "body": body}, 201, &m)
	return m
}

func (c *client) messages(convID, query string) []message {
	c.t.Helper()
	var out struct {
		Messages []message `json:"messages"`
	}
	c.mustDo("GET", "/api/v1/conversations/"+convID+"/messages"+query, nil, 200, &out)
	return out.Messages
}

func (c *client) conversations() []conversation {
	c.t.Helper()
	var out struct {
		Conversations []conversation `json:"conversations"`
	}
	c.mustDo("GET", "/api/v1/conversations", nil, 200, &out)
	return out.Conversations
}

// stream is a client's WebSocket event stream; frames are read in the
// background into a channel.
type stream struct {
	t      *testing.T
	conn   *websocket.Conn
	frames chan frame
	ready  frame
	cancel context.CancelFunc
}

// connect opens the event stream, with ?since=cursor when cursor is not
// empty, and waits for the ready frame.
func (c *client) connect(cursor string) *stream {
	c.t.Helper()
	return c.connectHeld(cursor, nil)
}

// connectHeld is connect for a client that, after the ready frame, reads
// one frame a second until hold is closed (nil: no hold), with a small
// receive buffer, so that the server's writes soon block: a slow client.
func (c *client) connectHeld(cursor string, hold chan struct{}) *stream {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	u := strings.Replace(c.s.url, "http://", "ws://", 1) + "/api/v1/events"
	if cursor != "" {
		u += "?since=" + cursor
	}
	opts := &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + c.token}}}
	if hold != nil {
		d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		}}
		opts.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	conn, _, err := websocket.Dial(ctx, u, opts)
	if err != nil {
		cancel()
		c.t.Fatalf("dial events: %v", err)
	}
	conn.SetReadLimit(1 << 24)
	st := &stream{t: c.t, conn: conn, frames: make(chan frame, 10000), cancel: cancel}
	go func() {
		defer close(st.frames)
		for n := 0; ; n++ {
			if n >= 1 && hold != nil {
				// A slow reader, not a dead one: one frame a second
				// keeps each of the server's blocked writes well within
				// its write timeout (10 s), after which it would close
				// the stream, however long the test's burst takes.
				select {
				case <-hold:
					hold = nil
				case <-time.After(time.Second):
				case <-ctx.Done():
					return
				}
			}
			_, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			var f frame
			if err := json.Unmarshal(b, &f); err != nil {
				c.t.Errorf("frame %s: %v", b, err)
				return
			}
			st.frames <- f
		}
	}()
	st.ready = st.next(10 * time.Second)
	if st.ready.Type != "ready" {
		c.t.Fatalf("first frame = %+v, want ready", st.ready)
	}
	c.t.Cleanup(st.close)
	return st
}

func (st *stream) close() {
	st.cancel()
	st.conn.CloseNow()
}

// next returns the next frame, failing the test after timeout.
func (st *stream) next(timeout time.Duration) frame {
	st.t.Helper()
	select {
	case f, ok := <-st.frames:
		if !ok {
			st.t.Fatalf("event stream closed")
		}
		return f
	case <-time.After(timeout):
		st.t.Fatalf("no frame within %v", timeout)
	}
	return frame{}
}

// nextOf returns the next frame of type typ, skipping others.
func (st *stream) nextOf(typ string, timeout time.Duration) frame {
	st.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		f := st.next(time.Until(deadline))
		if f.Type == typ {
			return f
		}
	}
}

// none asserts that no frame of type typ arrives within d.
func (st *stream) none(typ string, d time.Duration) {
	st.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f, ok := <-st.frames:
			if !ok {
				return
			}
			if f.Type == typ {
				st.t.Errorf("unexpected %s frame: %s", typ, f.Data)
			}
		case <-deadline:
			return
		}
	}
}

func decodeMessage(t *testing.T, f frame) message {
	t.Helper()
	var m message
	if err := json.Unmarshal(f.Data, &m); err != nil {
		t.Fatalf("decode %s: %v", f.Data, err)
	}
	return m
}

// rawSend posts a message without failing the test on transport errors, for
// use while the server is being killed.
func rawSend(c *client, convID, clientID string) (int, []byte, error) {
	body, _ := json.Marshal(map[string]string{"client_id": clientID, "body": "durable " + clientID})
	req, _ := http.NewRequest("POST", c.s.url+"/api/v1/conversations/"+convID+"/messages", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func sleepBrief() { time.Sleep(50 * time.Millisecond) }
