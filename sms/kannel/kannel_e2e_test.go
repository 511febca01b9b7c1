package kannel

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-chat/switchboard"
)

// The programs of Debian's kannel and kannel-extras packages.
const (
	bearerboxBin = "/usr/sbin/bearerbox"
	smsboxBin    = "/usr/sbin/smsbox"
	fakesmscBin  = "/usr/lib/kannel/test/fakesmsc"
)

// waitLimit bounds every wait for Kannel.
const waitLimit = 20 * time.Second

// gateway is a running Kannel: bearerbox with a fake SMS center, smsbox,
// and (once connected) fakesmsc playing the SMS center: a line written to
// fakeIn is a text from a phone, and every text the SMS center gets is a
// line of fakeOut.
type gateway struct {
	dir        string
	adminURL   string // bearerbox's status page
	sendsmsURL string
	fakeIn     io.Writer
	fakeOut    chan string
}

// requireKannel skips the test when Kannel is not installed, unless CI is
// set: there, a missing Kannel is a failure.
func requireKannel(t *testing.T) {
	t.Helper()
	for _, bin := range []string{bearerboxBin, smsboxBin, fakesmscBin} {
		if _, err := os.Stat(bin); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing: apt-get install kannel kannel-extras (make test does)", bin)
			}
			t.Skipf("%s is missing: apt-get install kannel kannel-extras to run this test", bin)
		}
	}
}

// freePorts returns n distinct free TCP ports of 127.0.0.1.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// kannelConfig is bearerbox's and smsbox's configuration: everything on
// 127.0.0.1, a fake SMS center, one sendsms user, and the sms-service of
// the package documentation calling the webhook at hook.
const kannelConfig = `group = core
admin-port = %[1]d
admin-interface = 127.0.0.1
admin-password = admin-pw
admin-allow-ip = 127.0.0.1
smsbox-port = %[2]d
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "%[5]s/bearerbox.log"
log-level = 0
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = %[3]d
our-host = 127.0.0.1
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = %[2]d
sendsms-port = %[4]d
sendsms-interface = 127.0.0.1
log-file = "%[5]s/smsbox.log"
log-level = 0

group = sendsms-user
username = %[6]s
password = %[7]s
max-messages = 10
concatenation = true

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "%[8]s?secret=%[9]s&from=%%p&to=%%P&text=%%b&coding=%%c&charset=%%C&id=%%I&ts=%%T"
`

// startKannel writes the configuration to a temporary directory and starts
// bearerbox, smsbox and fakesmsc, each killed when the test ends. hook is
// the webhook URL for inbound messages.
func startKannel(t *testing.T, ports []int, hook string) *gateway {
	t.Helper()
	g := &gateway{
		dir:        t.TempDir(),
		adminURL:   fmt.Sprintf("http://127.0.0.1:%d/status.txt?password=admin-pw", ports[0]),
		sendsmsURL: fmt.Sprintf("http://127.0.0.1:%d", ports[3]),
	}
	conf := filepath.Join(g.dir, "kannel.conf")
	text := fmt.Sprintf(kannelConfig, ports[0], ports[1], ports[2], ports[3], g.dir, testUser, testPassword, hook, testSecret)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range []string{"bearerbox.log", "smsbox.log", "bearerbox.out", "smsbox.out"} {
				b, _ := os.ReadFile(filepath.Join(g.dir, name))
				t.Logf("--- %s (end):\n%s", name, b[max(0, len(b)-4000):])
			}
		}
	})

	start(t, g.dir, "bearerbox", bearerboxBin, conf)
	g.waitFor(t, "bearerbox's status page", func(status string) bool { return status != "" })
	start(t, g.dir, "smsbox", smsboxBin, conf)
	g.waitFor(t, "smsbox to connect to bearerbox", func(status string) bool { return strings.Contains(status, "smsbox:") })
	g.waitFor(t, "smsbox's sendsms port", func(string) bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", ports[3]), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return g
}

// connectFakeSMSC starts fakesmsc in interactive mode: every line written
// to fakeIn is a message from a phone ("FROM TO text BODY"), and every
// message the SMS center gets is a line of fakeOut ("FROM TO text BODY" or
// "FROM TO ucs-2 URLENCODED").
func (g *gateway) connectFakeSMSC(t *testing.T, port int) {
	t.Helper()
	cmd := exec.Command(fakesmscBin, "-H", "127.0.0.1", "-r", fmt.Sprint(port))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatalf("start fakesmsc: %v", err)
	}
	w.Close()
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
		r.Close()
	})
	g.fakeIn = stdin
	g.fakeOut = make(chan string, 100)
	got := regexp.MustCompile(`Got message \d+: <(.*)>`)
	go func() {
		defer close(g.fakeOut)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if m := got.FindStringSubmatch(sc.Text()); m != nil {
				g.fakeOut <- m[1]
			}
		}
	}()
	g.waitFor(t, "the fake SMS center to be online", func(status string) bool {
		return regexp.MustCompile(`fake\[fake\].*\(online`).MatchString(status)
	})
}

// start runs a Kannel program with its output in dir/name.out, and kills
// it when the test ends.
func start(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	out, err := os.Create(filepath.Join(dir, name+".out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		out.Close()
	})
}

// waitFor polls bearerbox's status page until ok holds of it ("" while
// bearerbox does not answer).
func (g *gateway) waitFor(t *testing.T, what string, ok func(status string) bool) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	status := ""
	for deadline := time.Now().Add(waitLimit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		status = ""
		if resp, err := client.Get(g.adminURL); err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			status = string(b)
		}
		if ok(status) {
			return
		}
	}
	t.Fatalf("gave up waiting for %s after %v; bearerbox status:\n%s", what, waitLimit, status)
}

// received returns the next message that reached the fake SMS center.
func (g *gateway) received(t *testing.T) string {
	t.Helper()
	select {
	case line, ok := <-g.fakeOut:
		if !ok {
			t.Fatal("fakesmsc ended")
		}
		return line
	case <-time.After(waitLimit):
		t.Fatalf("no message reached the fake SMS center in %v", waitLimit)
	}
	return ""
}

// hookServer is Switchboard's webhook endpoint in miniature: it hands every
// request to ParseWebhook and passes on what it parsed.
func hookServer(t *testing.T, p *Provider) (*httptest.Server, chan *switchboard.Webhook) {
	t.Helper()
	hooks := make(chan *switchboard.Webhook, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		wh, err := p.ParseWebhook(r, body, "http://"+r.Host+r.URL.RequestURI())
		if err != nil {
			t.Errorf("ParseWebhook(%s %s): %v", r.Method, r.URL.Path, err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		select {
		case hooks <- wh:
		default:
			t.Errorf("webhook dropped: the test does not read them")
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, hooks
}

// nextHook returns the next webhook that Kannel made.
func nextHook(t *testing.T, hooks chan *switchboard.Webhook) *switchboard.Webhook {
	t.Helper()
	select {
	case wh := <-hooks:
		return wh
	case <-time.After(waitLimit):
		t.Fatalf("Kannel called no webhook in %v", waitLimit)
	}
	return nil
}

// TestKannel drives the real Kannel through the adapter: outbound messages
// reach the SMS center (queued while none is connected), GSM and UCS-2,
// with delivery reports back at the webhook; an inbound message reaches the
// webhook exactly as the phone sent it; bad credentials are refused.
func TestKannel(t *testing.T) {
	requireKannel(t)
	ports := freePorts(t, 4) // bearerbox admin, bearerbox smsbox, fake SMS center, sendsms
	p, err := New(&switchboard.Provider{
		Name: "kannel", Kind: switchboard.ProviderKannel, APIURL: fmt.Sprintf("http://127.0.0.1:%d", ports[3]),
		Credentials: map[string]string{"username": testUser, "password": testPassword, "secret": testSecret},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hook, hooks := hookServer(t, p)
	callback := hook.URL + "/webhooks/sms/kannel"
	g := startKannel(t, ports, callback)
	ctx := context.Background()

	// No SMS center is connected yet: Kannel queues the message.
	res, err := p.Send(ctx, &switchboard.OutboundSMS{ID: "msg0.1", From: "+14155550100", To: "+14155550142", Body: "Queued first"})
	if want := (switchboard.SendResult{ProviderID: "msg0.1", Status: switchboard.StatusQueued}); err != nil || res != want {
		t.Fatalf("Send with no SMS center = %+v, %v; want %+v", res, err, want)
	}
	g.connectFakeSMSC(t, ports[2])
	if got, want := g.received(t), "+14155550100 +14155550142 text Queued first"; got != want {
		t.Errorf("the SMS center got %q, want %q", got, want)
	}

	t.Run("GSM text with delivery reports", func(t *testing.T) {
		m := &switchboard.OutboundSMS{ID: "msg1.7", From: "+14155550100", To: "+14155550142", Body: "Hello from Switchboard: 5€ @ café", StatusCallback: callback}
		res, err := p.Send(ctx, m)
		if want := (switchboard.SendResult{ProviderID: "msg1.7", Status: switchboard.StatusSent}); err != nil || res != want {
			t.Fatalf("Send = %+v, %v; want %+v", res, err, want)
		}
		if got, want := g.received(t), "+14155550100 +14155550142 text "+m.Body; got != want {
			t.Errorf("the SMS center got %q, want %q", got, want)
		}
		// The fake SMS center takes the message (8) and reports it
		// delivered (1); smsbox may call the dlr-url in either order.
		want := []switchboard.DeliveryReport{{ProviderID: "msg1.7", Status: switchboard.StatusDelivered}, {ProviderID: "msg1.7", Status: switchboard.StatusSent}}
		var got []switchboard.DeliveryReport
		for len(got) < len(want) {
			got = append(got, nextHook(t, hooks).Reports...)
		}
		slices.SortFunc(got, func(a, b switchboard.DeliveryReport) int { return strings.Compare(a.Status, b.Status) })
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("delivery reports (-want +got):\n%s", diff)
		}
	})

	t.Run("UCS-2 text", func(t *testing.T) {
		// An id that needs URL encoding checks the escaping of the dlr-url.
		m := &switchboard.OutboundSMS{ID: "msg 2/é.8", From: "+14155550100", To: "+14155550142", Body: "Grüße ✓ 😀 Привет", StatusCallback: callback}
		if _, err := p.Send(ctx, m); err != nil {
			t.Fatalf("Send: %v", err)
		}
		line := g.received(t)
		prefix := "+14155550100 +14155550142 ucs-2 "
		if !strings.HasPrefix(line, prefix) {
			t.Fatalf("the SMS center got %q, want a UCS-2 message", line)
		}
		raw, err := url.QueryUnescape(strings.TrimPrefix(line, prefix))
		if got := decodeUTF16BE(raw); err != nil || got != m.Body {
			t.Errorf("the SMS center got %q (%v), want %q", got, err, m.Body)
		}
		for range 2 {
			for _, rep := range nextHook(t, hooks).Reports {
				if rep.ProviderID != m.ID {
					t.Errorf("delivery report for %q, want %q", rep.ProviderID, m.ID)
				}
			}
		}
	})

	t.Run("inbound message", func(t *testing.T) {
		body := "Hello  from a phone: café & 100% sure?"
		fmt.Fprintf(g.fakeIn, "+14155550142 +14155550100 text %s\n", body)
		wh := nextHook(t, hooks)
		if len(wh.Messages) != 1 {
			t.Fatalf("webhook = %+v, want one message", wh)
		}
		in := wh.Messages[0]
		if !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(in.ProviderID) {
			t.Errorf("ProviderID = %q, want Kannel's message UUID", in.ProviderID)
		}
		in.ProviderID = ""
		if diff := cmp.Diff(switchboard.InboundSMS{From: "+14155550142", To: "+14155550100", Body: body}, in); diff != "" {
			t.Errorf("inbound message (-want +got):\n%s", diff)
		}
	})

	t.Run("bad credentials", func(t *testing.T) {
		bad, err := New(&switchboard.Provider{APIURL: g.sendsmsURL,
			Credentials: map[string]string{"username": testUser, "password": "wrong", "secret": testSecret}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = bad.Send(ctx, &switchboard.OutboundSMS{ID: "m", From: "+14155550100", To: "+14155550142", Body: "Hi"})
		if switchboard.ErrorCode(err) != switchboard.EINVALID {
			t.Errorf("Send with a wrong password = %v, want code %s", err, switchboard.EINVALID)
		}
	})
}
