package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"time"
)

// externalUsers is how many users the benchmark creates on a server it did
// not start: few, because the CLI hashes every password with argon2id.
const externalUsers = 20

// external prepares a running server: a new domain with a few users made by
// the CLI, signed in through the API, with 1:1 and group conversations.
func (b *bench) external(ctx context.Context, src *sources) (*target, error) {
	u, err := url.Parse(b.cfg.URL)
	if err != nil || u.Scheme != "http" {
		return nil, fmt.Errorf("--url %q: want http://HOST:PORT", b.cfg.URL)
	}
	tg := &target{name: "switchboard", addr: u.Host, src: src, users: externalUsers}
	domain := fmt.Sprintf("bench%d.example", time.Now().Unix())
	password := "bench-" + fmt.Sprint(time.Now().UnixNano())
	cli := func(stdin string, args ...string) error {
		if b.cfg.Data != "" {
			args = append(args, "--data", b.cfg.Data)
		}
		cmd := exec.CommandContext(ctx, b.cfg.CLI, args...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s: %v: %s", b.cfg.CLI, strings.Join(args, " "), err, out)
		}
		return nil
	}
	b.logf("creating %s with %d users through the CLI", domain, externalUsers)
	if err := cli("", "domain", "add", domain); err != nil {
		return nil, err
	}
	ext := func(u int) string { return fmt.Sprint(5000 + u) }
	tokens := make([]string, externalUsers)
	h := &httpConn{addr: tg.addr, src: src}
	defer h.close()
	for u := range externalUsers {
		if err := cli(password+"\n", "user", "add", ext(u)+"@"+domain, "--name", fmt.Sprintf("Bench User %d", u), "--password-stdin"); err != nil {
			return nil, err
		}
		body, _ := json.Marshal(map[string]string{"username": ext(u) + "@" + domain, "password": password})
		r, err := h.do(ctx, "POST", "/api/v1/login", "", body)
		if err != nil || r.status != 200 {
			return nil, fmt.Errorf("login %s: %v %d %s", ext(u), err, r.status, r.body)
		}
		var resp struct{ Token string }
		json.Unmarshal(r.body, &resp)
		tokens[u] = resp.Token
	}
	convs := map[string]string{}
	create := func(u int, members []string, name string) error {
		body, _ := json.Marshal(map[string]any{"members": members, "name": name})
		r, err := h.do(ctx, "POST", "/api/v1/conversations", tokens[u], body)
		if err != nil || r.status/100 != 2 {
			return fmt.Errorf("create conversation: %v %d %s", err, r.status, r.body)
		}
		var c struct{ ID string }
		json.Unmarshal(r.body, &c)
		convs[fmt.Sprint(name == "", u)] = c.ID
		return nil
	}
	for u := 0; u < externalUsers; u += 2 {
		if err := create(u, []string{ext(u + 1)}, ""); err != nil {
			return nil, err
		}
	}
	for g := 0; g < externalUsers; g += 10 {
		var members []string
		for i := range 10 {
			members = append(members, ext(g+i))
		}
		if err := create(g, members, "Bench group"); err != nil {
			return nil, err
		}
	}
	tg.token = func(u int) string { return tokens[u] }
	tg.conv = func(kind string, u int) string {
		if kind == "group" {
			return convs[fmt.Sprint(false, u/10*10)]
		}
		return convs[fmt.Sprint(true, u&^1)]
	}
	return tg, nil
}
