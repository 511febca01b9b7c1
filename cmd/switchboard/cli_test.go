package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func TestCLIAdmin(t *testing.T) {
	data := t.TempDir()
	if out := mustCLI(t, data, "domain", "add", "Initech.Example", "--name", "Initech"); !strings.Contains(out, "initech.example") {
		t.Errorf("domain add printed %q", out)
	}
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string // in stderr
	}{
		{"duplicate domain", "", []string{"domain", "add", "initech.example"}, "exists already"},
		{"invalid domain", "", []string{"domain", "add", "not a domain"}, "not a valid domain"},
		{"user in unknown domain", "", []string{"user", "add", "101@nowhere.example", "--name", "X", "--password", "long-enough"}, "not found"},
		{"invalid level", "", []string{"user", "add", "101@initech.example", "--name", "X", "--level", "boss", "--password", "long-enough"}, "not one of"},
		{"bad address", "", []string{"user", "add", "peter", "--name", "X", "--password", "long-enough"}, "EXT@DOMAIN"},
		{"no password", "", []string{"user", "add", "101@initech.example", "--name", "X"}, "password is required"},
		{"short password", "", []string{"user", "add", "101@initech.example", "--name", "X", "--password", "short"}, "at least 8"},
		{"no name", "", []string{"user", "add", "101@initech.example", "--password", "long-enough"}, "Name is required"},
		{"empty stdin", "", []string{"user", "add", "101@initech.example", "--name", "X", "--password-stdin"}, "no password"},
		{"list unknown domain", "", []string{"user", "list", "nowhere.example"}, "not found"},
		{"set nothing", "", []string{"user", "set", "101@initech.example"}, "Nothing to change"},
		{"unknown command", "", []string{"frobnicate"}, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs, code := cli(t, data, tc.stdin, tc.args...)
			if code == 0 || !strings.Contains(errs, tc.want) {
				t.Errorf("switchboard %s: exit %d, stderr %q; want failure mentioning %q", strings.Join(tc.args, " "), code, errs, tc.want)
			}
		})
	}
	_, errs, code := cli(t, data, "s3cret-pass\n", "user", "add", "101@initech.example", "--name", "Peter Gibbons", "--level", "site-manager", "--password-stdin")
	if code != 0 {
		t.Fatalf("user add: %s", errs)
	}
	mustCLI(t, data, "user", "add", "102@initech.example", "--name", "Milton Waddams", "--password", "red-stapler")
	out := mustCLI(t, data, "user", "list", "initech.example")
	if !regexp.MustCompile(`101\s+Peter Gibbons\s+site-manager`).MatchString(out) || !strings.Contains(out, "Milton Waddams") {
		t.Errorf("user list:\n%s", out)
	}
	if out := mustCLI(t, data, "domain", "list"); !strings.Contains(out, "initech.example") || !strings.Contains(out, "Initech") {
		t.Errorf("domain list:\n%s", out)
	}
	// The admin commands work while the server is running, and the server
	// sees their changes.
	s := startServer(t, data)
	if _, errs, code := cli(t, data, "new-password-1\n", "user", "set", "102@initech.example", "--name", "Milton W.", "--password-stdin"); code != 0 {
		t.Fatalf("user set: %s", errs)
	}
	anon := &client{t: t, s: s}
	if status, _ := anon.do("POST", "/api/v1/login", `{"username":"102@initech.example","password":"red-stapler"}`); status != 401 {
		t.Errorf("old password = %d, want 401", status)
	}
	var resp struct {
		User struct{ Name string } `json:"user"`
	}
	anon.mustDo("POST", "/api/v1/login", `{"username":"102@initech.example","password":"new-password-1"}`, 200, &resp)
	if resp.User.Name != "Milton W." {
		t.Errorf("name after set = %q", resp.User.Name)
	}
	// SWITCHBOARD_* environment variables set flags.
	cmd := exec.Command(binary, "user", "list", "initech.example")
	cmd.Env = append(os.Environ(), "SWITCHBOARD_DATA="+data)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Peter Gibbons") {
		t.Errorf("with SWITCHBOARD_DATA: %v %s", err, out)
	}
}

// --demo seeds a domain and prints how to sign in; the printed passwords
// work, and a restart prints the same ones.
func TestDemo(t *testing.T) {
	data := t.TempDir()
	s := &server{t: t, data: data, stderr: &syncBuffer{}}
	s.start("--demo")
	t.Cleanup(func() { s.stop() })
	b, err := os.ReadFile(data + "/demo-passwords.txt")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		t.Fatalf("demo passwords file: %q", b)
	}
	addr, pw, _ := strings.Cut(lines[0], " ")
	anon := &client{t: t, s: s}
	var resp struct {
		User struct{ Level string } `json:"user"`
	}
	anon.mustDo("POST", "/api/v1/login", map[string]string{"username": addr, "password": pw}, 200, &resp)
	if addr != "101@acme.example" || resp.User.Level != "office-manager" {
		t.Errorf("demo 101 = %s %s", addr, resp.User.Level)
	}
	s.stop()
	out, _, _ := runServeOnce(t, data)
	if !strings.Contains(out, pw) || !strings.Contains(out, "Open http://127.0.0.1:") {
		t.Errorf("restart output does not show the sign-in:\n%s", out)
	}
}

// runServeOnce starts serve --demo, captures what it prints on start, and
// stops it.
func runServeOnce(t *testing.T, data string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--demo", "--addr", "127.0.0.1:0", "--sip-addr", "", "--data", data)
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if strings.Contains(out.String(), "curl") {
			break
		}
		sleepBrief()
	}
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	return out.String(), errb.String(), err
}
