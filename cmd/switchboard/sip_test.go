package main

// End-to-end tests of the SIP side against real SIP peers from Debian:
// SIPp (package sip-tester) runs the scenarios in testdata/sipp, and
// baresip (baresip-core) registers as a real softphone does. Each test
// checks the colour that a WebSocket client of the same domain sees, and
// that a client of another domain sees nothing.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needTool returns the path of a SIP peer; a missing one skips the test,
// or fails it in CI.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing (make sip-tools installs it)", name)
		}
		t.Skipf("%s is missing (make sip-tools installs it)", name)
	}
	return path
}

// freeSIPPort returns a loopback port that is free for both UDP and TCP.
func freeSIPPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		u.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port for UDP and TCP")
	return 0
}

// startSIPServer sets SIP secrets ("sip-secret-EXT") for addrs, then runs
// the server with the registrar on a free port, and returns it with the
// registrar's address.
func startSIPServer(t *testing.T, data string, addrs ...string) (*server, string) {
	t.Helper()
	for _, addr := range addrs {
		ext, _, _ := strings.Cut(addr, "@")
		mustCLI(t, data, "user", "set", addr, "--sip-secret", "sip-secret-"+ext)
	}
	sipAddr := fmt.Sprintf("127.0.0.1:%d", freeSIPPort(t))
	return startServer(t, data, "--sip-addr", sipAddr), sipAddr
}

// sipp is a running SIPp.
type sipp struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	out    bytes.Buffer
	trace  string
	exited chan error
}

// startSIPp runs SIPp on a scenario of testdata/sipp from 127.0.0.1:port;
// remote is the address to call ("" for a scenario that waits for a
// request); keys are -key name value pairs; extra are more flags.
func startSIPp(t *testing.T, scenario string, port int, remote string, keys map[string]string, extra ...string) *sipp {
	t.Helper()
	bin := needTool(t, "sipp")
	path, err := filepath.Abs(filepath.Join("testdata", "sipp", scenario))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &sipp{t: t, name: scenario, trace: filepath.Join(dir, "messages.log"), exited: make(chan error, 1)}
	args := []string{"-sf", path, "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-m", "1", "-nostdin",
		"-timeout", "25s", "-trace_msg", "-message_file", s.trace, "-trace_err", "-error_file", filepath.Join(dir, "errors.log")}
	if !hasFlag(extra, "-t") {
		args = append(args, "-t", "u1")
	}
	for k, v := range keys {
		args = append(args, "-key", k, v)
	}
	args = append(args, extra...)
	if remote != "" {
		args = append(args, remote)
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start sipp: %v", err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			<-s.exited
		}
	})
	return s
}

func hasFlag(args []string, flag string) bool {
	for _, a := range args {
		if a == flag {
			return true
		}
	}
	return false
}

// wait waits for SIPp to finish its scenario, failing the test (with the
// SIP messages it exchanged) unless the call succeeded.
func (s *sipp) wait() {
	s.t.Helper()
	var err error
	select {
	case err = <-s.exited:
	case <-time.After(40 * time.Second):
		s.cmd.Process.Kill()
		err = <-s.exited
	}
	if err != nil {
		trace, _ := os.ReadFile(s.trace)
		errs, _ := os.ReadFile(filepath.Join(s.cmd.Dir, "errors.log"))
		s.t.Fatalf("sipp %s: %v\n%s\n%s\n%s", s.name, err, lastLines(s.out.String(), 15), errs, trace)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

// runSIPp runs a scenario to its end.
func runSIPp(t *testing.T, scenario string, port int, remote string, keys map[string]string, extra ...string) {
	t.Helper()
	startSIPp(t, scenario, port, remote, keys, extra...).wait()
}

// waitFile waits until a scenario created path.
func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not created", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// domainStreams signs in a client of acme.example (101) and one of
// globex.example (101) and returns their event streams. (A client does
// not receive the presence change of its own connection.)
func domainStreams(t *testing.T, s *server) (acme, globex *stream) {
	t.Helper()
	return s.login("101@acme.example").connect(""), s.login("101@globex.example").connect("")
}

// noPresence asserts that a stream receives no presence change at all.
func noPresence(t *testing.T, st *stream) {
	t.Helper()
	st.none("presence.changed", 300*time.Millisecond)
}

// A phone registers with digest auth over UDP and TCP, re-registers, and
// unregisters with Expires: 0; a wrong password is refused and changes
// nothing.
func TestSIPRegister(t *testing.T) {
	data := newData(t)
	s, sipAddr := startSIPServer(t, data, "102@acme.example", "103@acme.example")
	sa, sx := domainStreams(t, s)

	port := freeSIPPort(t)
	keys := map[string]string{"ext": "102", "domain": "acme.example", "contact": fmt.Sprintf("sip:102@127.0.0.1:%d", port), "expires": "600"}
	runSIPp(t, "register.xml", port, sipAddr, keys, "-au", "102", "-ap", "sip-secret-102")
	if p := nextPresence(t, sa, "102"); p.Color != "green" {
		t.Errorf("registered: 102 = %+v, want green", p)
	}
	runSIPp(t, "unregister.xml", port, sipAddr, keys, "-au", "102", "-ap", "sip-secret-102")
	if p := nextPresence(t, sa, "102"); p.Color != "gray" {
		t.Errorf("unregistered: 102 = %+v, want gray", p)
	}

	// A wrong password: 403, and the colour stays.
	runSIPp(t, "register_refused.xml", port, sipAddr, keys, "-au", "102", "-ap", "not-the-secret")
	noPresence(t, sa)

	// Over TCP.
	port = freeSIPPort(t)
	keys = map[string]string{"ext": "103", "domain": "acme.example", "contact": fmt.Sprintf("sip:103@127.0.0.1:%d;transport=tcp", port), "expires": "600"}
	runSIPp(t, "register.xml", port, sipAddr, keys, "-t", "t1", "-au", "103", "-ap", "sip-secret-103")
	if p := nextPresence(t, sa, "103"); p.Color != "green" {
		t.Errorf("registered over TCP: 103 = %+v, want green", p)
	}
	runSIPp(t, "unregister.xml", port, sipAddr, keys, "-t", "t1", "-au", "103", "-ap", "sip-secret-103")
	if p := nextPresence(t, sa, "103"); p.Color != "gray" {
		t.Errorf("unregistered over TCP: 103 = %+v, want gray", p)
	}
	noPresence(t, sx)
}

// Switchboard subscribes to the dialog events of a registered phone (SIPp
// as the phone's UAS): a confirmed call turns the extension red, its end
// green again.
func TestSIPDialogEvents(t *testing.T) {
	data := newData(t)
	s, sipAddr := startSIPServer(t, data, "102@acme.example")
	sa, sx := domainStreams(t, s)

	phonePort, regPort := freeSIPPort(t), freeSIPPort(t)
	phone := startSIPp(t, "dialog_uas.xml", phonePort, "", map[string]string{"ext": "102", "domain": "acme.example"})
	runSIPp(t, "register.xml", regPort, sipAddr, map[string]string{"ext": "102", "domain": "acme.example",
		"contact": fmt.Sprintf("sip:102@127.0.0.1:%d", phonePort), "expires": "600"}, "-au", "102", "-ap", "sip-secret-102")
	for _, want := range []string{"green", "red", "green"} {
		if p := nextPresence(t, sa, "102"); p.Color != want {
			t.Errorf("102 = %+v, want %s", p, want)
		}
	}
	phone.wait()
	noPresence(t, sx)
}

// Busy lamps: a phone of 101 subscribes to the dialog events of 103 and to
// the presence of 102, and its NOTIFYs follow their presence; a lamp of
// another domain is not found.
func TestSIPBusyLamps(t *testing.T) {
	data := newData(t)
	key := strings.TrimSpace(mustCLI(t, data, "apikey", "add", "--domain", "acme.example"))
	s, sipAddr := startSIPServer(t, data, "101@acme.example")
	sa, sx := domainStreams(t, s)
	pbx := &client{t: t, s: s, token: key}
	post := func(body string) {
		t.Helper()
		if status, resp := pbx.do("POST", "/api/v1/pbx/events", body); status != 204 {
			t.Fatalf("POST pbx/events %s = %d %s", body, status, resp)
		}
	}
	auth := []string{"-au", "101", "-ap", "sip-secret-101"}

	marker := filepath.Join(t.TempDir(), "notify")
	lamp := startSIPp(t, "blf_dialog.xml", freeSIPPort(t), sipAddr,
		map[string]string{"ext": "101", "domain": "acme.example", "target": "103", "marker": marker}, auth...)
	waitFile(t, marker+"-1") // the lamp is off
	post(`{"type":"call.started","extension":"103","call_id":"blf-1"}`)
	if p := nextPresence(t, sa, "103"); p.Color != "red" {
		t.Errorf("in a call: 103 = %+v, want red", p)
	}
	waitFile(t, marker+"-2") // the lamp is lit
	post(`{"type":"call.ended","extension":"103","call_id":"blf-1"}`)
	if p := nextPresence(t, sa, "103"); p.Color != "gray" {
		t.Errorf("call ended: 103 = %+v, want gray", p)
	}
	lamp.wait() // the lamp went off, and the phone unsubscribed

	marker = filepath.Join(t.TempDir(), "presence")
	watcher := startSIPp(t, "blf_presence.xml", freeSIPPort(t), sipAddr,
		map[string]string{"ext": "101", "domain": "acme.example", "target": "102", "marker": marker}, auth...)
	waitFile(t, marker+"-1") // closed
	post(`{"type":"device.registered","extension":"102","device":"desk-102"}`)
	if p := nextPresence(t, sa, "102"); p.Color != "green" {
		t.Errorf("registered: 102 = %+v, want green", p)
	}
	watcher.wait() // open, then unsubscribed

	runSIPp(t, "subscribe_refused.xml", freeSIPPort(t), sipAddr,
		map[string]string{"ext": "101", "domain": "acme.example", "target": "101", "target_domain": "globex.example"}, auth...)
	noPresence(t, sx)
}

// Registrations are stored with their expiry: after a restart the phone's
// extension is still green.
func TestSIPRegistrationsSurviveRestart(t *testing.T) {
	data := newData(t)
	s, sipAddr := startSIPServer(t, data, "102@acme.example")
	sa, _ := domainStreams(t, s)
	port := freeSIPPort(t)
	runSIPp(t, "register.xml", port, sipAddr, map[string]string{"ext": "102", "domain": "acme.example",
		"contact": fmt.Sprintf("sip:102@127.0.0.1:%d", port), "expires": "600"}, "-au", "102", "-ap", "sip-secret-102")
	if p := nextPresence(t, sa, "102"); p.Color != "green" {
		t.Fatalf("registered: 102 = %+v, want green", p)
	}

	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	s.start("--sip-addr", sipAddr)
	st := s.login("103@acme.example").connect("")
	var ready struct {
		Presence []presenceData `json:"presence"`
	}
	if err := json.Unmarshal(st.ready.Data, &ready); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range ready.Presence {
		if p.Extension == "102" {
			found = true
			if p.Color != "green" {
				t.Errorf("after restart 102 = %+v, want green", p)
			}
		}
	}
	if !found {
		t.Errorf("after restart 102 is not in the ready presence %s", st.ready.Data)
	}
	gx := s.login("101@globex.example").connect("")
	if strings.Contains(string(gx.ready.Data), `"102"`) {
		t.Errorf("globex sees acme's 102: %s", gx.ready.Data)
	}
}

// baresip, a real softphone, registers, then exits on SIGTERM and
// unregisters as it does: ;expires=0 on its Contact and no Expires header.
func TestBaresip(t *testing.T) {
	bin := needTool(t, "baresip")
	data := newData(t)
	s, sipAddr := startSIPServer(t, data, "102@acme.example")
	sa, sx := domainStreams(t, s)

	dir := t.TempDir()
	config := fmt.Sprintf("poll_method\tepoll\nsip_listen\t127.0.0.1:%d\nmodule_path\t/usr/lib/baresip/modules\nmodule\tg711.so\nmodule_tmp\taccount.so\n"+
		"audio_player\tausine,\naudio_source\tausine,\n", freeSIPPort(t))
	account := fmt.Sprintf("<sip:102@acme.example>;auth_pass=sip-secret-102;outbound=\"sip:%s\";regint=60\n", sipAddr)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(account), 0o600); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	cmd := exec.Command(bin, "-f", dir, "-s")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
	})

	if p := nextPresence(t, sa, "102"); p.Color != "green" {
		t.Fatalf("baresip registered: 102 = %+v, want green\n%s", p, out.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if p := nextPresence(t, sa, "102"); p.Color != "gray" {
		t.Errorf("baresip quit: 102 = %+v, want gray\n%s", p, out.String())
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Errorf("baresip did not exit within 10s of SIGTERM")
	}
	if trace := out.String(); !strings.Contains(trace, ";expires=0") {
		t.Logf("baresip did not unregister with ;expires=0 this time:\n%s", trace)
	}
	noPresence(t, sx)
}
