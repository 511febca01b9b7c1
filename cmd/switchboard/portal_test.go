package main

// Browser tests of the web portal: Debian's Chromium, driven by chromedp,
// against the real binary. Each user is a separate browser context (its own
// cookies). Screenshots of the main screens are kept as artefacts in
// $SWITCHBOARD_SCREENSHOTS (default testdata/screenshots).

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

const chromiumPath = "/usr/bin/chromium"

// requirePortal skips the test, or fails it under CI, when Chromium or the
// portal bundle (which the binary embeds) is missing.
func requirePortal(t *testing.T) {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatal(what)
		}
		t.Skip(what)
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missing("Chromium is not installed at " + chromiumPath + " (make chromium installs it)")
	}
	if _, err := os.Stat(filepath.Join("..", "..", "web", "dist", "index.html")); err != nil {
		missing("the portal is not built: web/dist/index.html is missing (make web builds it, then rebuild the test binary)")
	}
}

// checkPortalServed fails unless the server serves the built portal (the
// binary was built after the bundle).
func checkPortalServed(t *testing.T, s *server) {
	t.Helper()
	resp, err := http.Get(s.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "/assets/app-") {
		t.Fatalf("GET / does not serve the portal bundle (was the binary built before web/dist?):\n%s", b)
	}
}

func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SWITCHBOARD_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBrowser starts Chromium for the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.Env("TZ=UTC"),
		chromedp.WindowSize(1280, 800),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return ctx
}

// page is one user's tab, in a browser context of its own.
type page struct {
	t    *testing.T
	ctx  context.Context
	name string
	base string

	mu      sync.Mutex
	errs    []string
	sockets []string // the URLs of the WebSockets the page opened
}

// cspProbe records violations of the Content-Security-Policy in the page.
const cspProbe = `window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));`

func newPage(t *testing.T, browser context.Context, name, base string, width, height int64, mobile bool) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	p := &page{t: t, ctx: ctx, name: name, base: base}
	if err := chromedp.Listen(ctx, func(ev any) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			p.errs = append(p.errs, exceptionText(e.ExceptionDetails))
		case *network.EventWebSocketCreated:
			p.sockets = append(p.sockets, e.URL)
		}
	}); err != nil {
		t.Fatal(err)
	}
	var vp []chromedp.EmulateViewportOption
	if mobile {
		vp = append(vp, chromedp.EmulateMobile, chromedp.EmulatePortrait, chromedp.EmulateScale(2))
	}
	p.do(
		chromedp.EmulateViewport(width, height, vp...),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: cspProbe})
			return err
		}),
	)
	t.Cleanup(func() { p.checkHealthy() })
	return p
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "exception"
	}
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return d.Text
}

// checkHealthy fails the test on uncaught exceptions and CSP violations.
func (p *page) checkHealthy() {
	p.mu.Lock()
	errs := p.errs
	p.mu.Unlock()
	for _, e := range errs {
		p.t.Errorf("%s: uncaught exception in the page: %s", p.name, e)
	}
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__csp || []`))
	if err == nil && len(v) > 0 {
		p.t.Errorf("%s: Content-Security-Policy violations: %q", p.name, v)
	}
}

const waitTimeout = 20 * time.Second

func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fail("%v", err)
	}
}

// fail saves a screenshot of the page and ends the test.
func (p *page) fail(format string, args ...any) {
	p.t.Helper()
	name := "FAILED-" + p.name
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	if b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		os.WriteFile(filepath.Join(screenshotDir(p.t), name+".png"), b, 0o644)
	}
	p.t.Fatalf("%s: %s (screenshot %s.png)", p.name, fmt.Sprintf(format, args...), name)
}

// js quotes a Go value for a JavaScript expression.
func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// wait polls a JavaScript expression until it is truthy.
func (p *page) wait(what, expr string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(waitTimeout)))
	if err != nil {
		p.fail("waiting for %s: %v", what, err)
	}
}

// waitText waits until an element matching sel contains text.
func (p *page) waitText(sel, text string) {
	p.t.Helper()
	p.wait(fmt.Sprintf("%q in %s", text, sel),
		fmt.Sprintf(`[...document.querySelectorAll(%s)].some((e) => e.textContent.includes(%s))`, js(sel), js(text)))
}

// waitGone waits until nothing matches sel.
func (p *page) waitGone(sel string) {
	p.t.Helper()
	p.wait(sel+" to go away", fmt.Sprintf(`!document.querySelector(%s)`, js(sel)))
}

func (p *page) waitVisible(sel string) {
	p.t.Helper()
	p.do(chromedp.WaitVisible(chromedp.CSS(sel)))
}

func (p *page) click(sel string) {
	p.t.Helper()
	p.do(chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// clickText clicks the first element matching sel whose text contains text.
func (p *page) clickText(sel, text string) {
	p.t.Helper()
	p.waitText(sel, text)
	p.eval(fmt.Sprintf(`[...document.querySelectorAll(%s)].find((e) => e.textContent.includes(%s)).click()`, js(sel), js(text)))
}

func (p *page) typeInto(sel, text string) {
	p.t.Helper()
	p.do(chromedp.SendKeys(chromedp.CSS(sel), text))
}

// key presses and releases a key as a real keyboard does: one keyDown that
// carries the text, so that preventDefault on keydown also stops the
// keypress (chromedp's KeyEvent sends a separate char event, which a page
// cannot cancel; a real Enter that the page handles would not insert a line
// or submit a form).
func (p *page) key(name string, mods ...kb.Modifier) {
	p.t.Helper()
	keys := map[string]struct {
		code string
		vk   int64
		text string
	}{
		"Enter":     {"Enter", 13, "\r"},
		"Escape":    {"Escape", 27, ""},
		"Tab":       {"Tab", 9, ""},
		"ArrowDown": {"ArrowDown", 40, ""},
		"ArrowUp":   {"ArrowUp", 38, ""},
	}
	k, ok := keys[name]
	if !ok {
		p.t.Fatalf("unknown key %q", name)
	}
	var m int64
	for _, mod := range mods {
		m |= int64(mod)
	}
	down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: name, Code: k.code,
		WindowsVirtualKeyCode: k.vk, NativeVirtualKeyCode: k.vk, Modifiers: m, Text: k.text, UnmodifiedText: k.text}
	up := down
	up.Type, up.Text, up.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
	p.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for _, ev := range []input.DispatchKeyEventParams{down, up} {
			if _, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, ev); err != nil {
				return err
			}
		}
		return nil
	}))
}

// eval runs a script for its effect.
func (p *page) eval(expr string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[*runtime.RemoteObject](expr)); err != nil {
		p.fail("eval %s: %v", expr, err)
	}
}

// evalValue runs a script and decodes its value.
func evalValue[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.fail("eval %s: %v", expr, err)
	}
	return v
}

func (p *page) screenshot(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitTimeout)
	defer cancel()
	// Let transitions and pictures settle.
	chromedp.Run(ctx, chromedp.Poll[chromedp.Void](`[...document.images].every((i) => i.complete)`,
		chromedp.WithPollingTimeout(5*time.Second)))
	time.Sleep(300 * time.Millisecond)
	b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.fail("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir(p.t), name+".png"), b, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// setOffline cuts the page's network (and tells the page it is offline, as
// the browser does when the network goes away), or restores it.
func (p *page) setOffline(offline bool) {
	p.t.Helper()
	var rules []*network.Conditions
	if offline {
		rules = []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}}
	}
	p.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: rules}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1})
		return err
	}))
}

// open loads the portal.
func (p *page) open() {
	p.t.Helper()
	p.do(chromedp.Navigate(p.base + "/"))
}

// signIn signs in on the sign-in page with the test password.
func (p *page) signIn(addr string) {
	p.t.Helper()
	ext, _, _ := strings.Cut(addr, "@")
	p.waitVisible("#login-user")
	p.typeInto("#login-user", addr)
	p.typeInto("#login-password", "password-"+ext)
	p.click(".login button[type=submit]")
	p.waitVisible(".profile-button")
}

// waitRow waits for a row titled title in the conversation list.
func (p *page) waitRow(title string) {
	p.t.Helper()
	p.waitText(".conv .conv-title", title)
}

func (p *page) openRow(title string) {
	p.t.Helper()
	p.clickText(".conv", title)
	p.waitText(".chat-title", title)
}

// send types a message into the open conversation and presses Enter.
func (p *page) send(text string) {
	p.t.Helper()
	p.typeInto(".composer-input", text)
	p.key("Enter")
	p.waitText(".msg-mine .msg-body", text)
}

// writePicture writes a PNG of w×h with a gradient and a few shapes.
func writePicture(t *testing.T, name string, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{uint8(40 + 120*x/w), uint8(90 + 100*y/h), 200, 255}
			dx, dy := x-w*2/3, y-h/2
			if dx*dx+dy*dy < (h/4)*(h/4) {
				c = color.RGBA{250, 204, 21, 255}
			}
			if y > h*3/4 && (x/40)%2 == 0 {
				c = color.RGBA{22, 101, 52, 255}
			}
			img.Set(x, y, c)
		}
	}
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPortalServesBundle checks the portal's HTTP contract on the real
// binary: the page and client routes with a strict CSP and no-cache, hashed
// assets cached for good, and the API untouched.
func TestPortalServesBundle(t *testing.T) {
	if _, err := os.Stat(filepath.Join("..", "..", "web", "dist", "index.html")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("web/dist/index.html is missing: make web builds the portal")
		}
		t.Skip("the portal is not built (make web)")
	}
	s := startServer(t, newData(t))
	checkPortalServed(t, s)
	for _, path := range []string{"/", "/chat/c_123"} {
		resp, err := http.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if resp.StatusCode != 200 || !strings.Contains(string(b), `<div id="app">`) {
			t.Errorf("GET %s = %d, want the portal page", path, resp.StatusCode)
		}
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(string(b), "style=") || strings.Contains(string(b), "<script>") {
			t.Errorf("GET %s: inline script or style allowed or used", path)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", path, cc)
		}
		if path == "/" {
			asset := strings.Split(strings.Split(string(b), `src="`)[1], `"`)[0]
			ar, err := http.Get(s.url + asset)
			if err != nil {
				t.Fatal(err)
			}
			ar.Body.Close()
			if ar.StatusCode != 200 || !strings.Contains(ar.Header.Get("Cache-Control"), "immutable") {
				t.Errorf("GET %s = %d, Cache-Control %q; want 200, immutable", asset, ar.StatusCode, ar.Header.Get("Cache-Control"))
			}
		}
	}
	resp, err := http.Get(s.url + "/assets/app-MISSING.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("missing asset = %d, want 404", resp.StatusCode)
	}
	resp, err = http.Get(s.url + "/api/v1/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("GET /api/v1/nope = %d %s, want the API's JSON 404", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestPortalChat: two users in two browser contexts sign in, search and
// start a conversation, chat (typing, read receipts, Shift+Enter, edit,
// delete), send pictures and files (paperclip, paste, drag and drop), start
// a group and a text conversation, work by keyboard, delete a conversation,
// open a chat from the contact list and see each other's presence change; a
// third user on a phone-sized screen sees the two panes swap.
func TestPortalChat(t *testing.T) {
	requirePortal(t)
	s := startServer(t, newTextingData(t))
	checkPortalServed(t, s)
	browser := newBrowser(t)
	avery := newPage(t, browser, "avery", s.url, 1280, 800, false)
	blake := newPage(t, browser, "blake", s.url, 1280, 800, false)

	// Sign in; a new user sees the empty state and the profile menu.
	avery.open()
	avery.waitVisible("#login-user")
	avery.screenshot("01-login")
	avery.signIn("101@acme.example")
	avery.waitText(".profile-name", "Avery Brooks")
	avery.waitText(".list-pane .empty", "No conversations yet")
	avery.click(".profile-button")
	avery.waitVisible("#profile-menu")
	avery.screenshot("02-profile-menu")
	items := evalValue[[]string](avery, `[...document.querySelectorAll("#profile-menu [role^=menuitem]")].map((e) => e.textContent.trim())`)
	if strings.Join(items, "|") != "Messages|Desktop notifications|Sound for new messages|Sign out" &&
		strings.Join(items, "|") != "Messages|Sound for new messages|Sign out" {
		t.Errorf("profile menu = %q, want Messages, the notification settings and Sign out only", items)
	}
	avery.key("Escape")
	avery.waitGone("#profile-menu")

	// The contact list: Blake is offline until he signs in.
	avery.click(".dock-bar")
	avery.waitVisible(`.contact[data-ext="102"][data-presence="gray"]`)
	blake.open()
	blake.signIn("102@acme.example")
	avery.waitVisible(`.contact[data-ext="102"][data-presence="blue"]`)
	avery.waitText(".legend", "Available to chat")
	avery.screenshot("03-contact-list")
	avery.click(".dock-bar")

	// New Conversation: search by name as I type, pick with the keyboard, Start.
	avery.clickText(".list-toolbar button", "New conversation")
	avery.waitVisible("#nc-search")
	avery.typeInto("#nc-search", "bla")
	avery.waitVisible("#nc-opt-102")
	avery.waitGone("#nc-opt-103")
	avery.key("Enter")
	avery.waitText(".picker .chip", "Blake Rivera")
	avery.screenshot("04-new-conversation")
	avery.click(".modal-new button[type=submit]")
	avery.waitGone(".modal-new")
	avery.waitText(".chat-title", "Blake Rivera")

	// Messages appear at once for me and live for the other, with the
	// unread count in the list and in the title.
	avery.send("Hello Blake")
	blake.waitRow("Avery Brooks")
	blake.waitText(".conv-unread .conv-preview", "Hello Blake")
	blake.waitText(".conv-unread .badge", "1")
	blake.wait("the unread count in the title", `document.title.startsWith("(1)")`)
	blake.screenshot("05-conversation-list")
	blake.openRow("Avery Brooks")
	blake.waitText(".msg-theirs .msg-body", "Hello Blake")
	blake.wait("no unread left", `!document.title.startsWith("(")`)
	avery.waitText(".receipt", "Seen")

	// Typing indicator, then Shift+Enter for a new line and Enter to send.
	blake.typeInto(".composer-input", "Hi Avery")
	avery.waitText(".typing", "Blake Rivera is typing")
	blake.key("Enter", kb.ModifierShift)
	blake.typeInto(".composer-input", "Second line")
	blake.key("Enter")
	avery.wait("a two-line message", `[...document.querySelectorAll(".msg-theirs .msg-body")].some((e) => e.textContent === "Hi Avery\nSecond line")`)
	avery.waitGone(".typing .typing-dots")

	// A picture and a file, attached with the paperclip's file input.
	pic := writePicture(t, "harbour.png", 640, 400)
	notes := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notes, []byte(strings.Repeat("Agenda for Monday.\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	blake.do(chromedp.SetUploadFiles(chromedp.CSS(`input[data-role="attach"]`), []string{pic, notes}))
	blake.waitText(".staged", "harbour.png")
	blake.waitText(".staged", "notes.txt")
	blake.typeInto(".composer-input", "The view from the office")
	blake.key("Enter")
	blake.waitGone(".msg-pending")
	avery.wait("the thumbnail", `[...document.querySelectorAll(".msg-theirs .thumb img")].some((i) => i.complete && i.naturalWidth > 0 && i.src.endsWith("/thumbnail"))`)
	avery.waitText(".msg-theirs .file .file-name", "notes.txt")
	avery.waitText(".msg-theirs .file .file-size", "1.9 KB")
	avery.screenshot("06-chat-with-picture")
	avery.click(".msg-theirs .thumb")
	avery.wait("the full-size picture", `(() => { const i = document.querySelector(".lightbox img"); return i && i.complete && i.naturalWidth === 640; })()`)
	avery.screenshot("07-picture-full-size")
	avery.key("Escape")
	avery.waitGone(".lightbox")

	// Paste and drag and drop attach files too.
	blake.eval(`(() => {
		const c = document.createElement("canvas");
		c.width = 240; c.height = 150;
		const g = c.getContext("2d");
		g.fillStyle = "#0e9384"; g.fillRect(0, 0, 240, 150);
		g.fillStyle = "#fff"; g.fillRect(30, 40, 180, 16); g.fillRect(30, 70, 120, 16);
		c.toBlob((b) => {
			const dt = new DataTransfer();
			dt.items.add(new File([b], "pasted.png", { type: "image/png" }));
			document.querySelector(".composer-input").dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }));
		}, "image/png");
	})()`)
	blake.waitText(".staged", "pasted.png")
	blake.eval(`(() => {
		const dt = new DataTransfer();
		dt.items.add(new File(["name,ext\nBlake,102\n"], "dropped.csv", { type: "text/csv" }));
		const chat = document.querySelector(".chat");
		chat.dispatchEvent(new DragEvent("dragenter", { dataTransfer: dt, bubbles: true, cancelable: true }));
		chat.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
	})()`)
	blake.waitText(".staged", "dropped.csv")
	blake.do(chromedp.Focus(chromedp.CSS(".composer-input")))
	blake.key("Enter")
	avery.waitText(".msg-theirs .file .file-name", "dropped.csv")
	avery.wait("the pasted picture", `[...document.querySelectorAll(".msg-theirs .thumb img")].some((i) => i.alt === "pasted.png" && i.complete && i.naturalWidth > 0)`)

	// Edit and delete my own message; the other side sees both.
	avery.eval(`[...document.querySelectorAll(".msg-mine")].find((m) => m.textContent.includes("Hello Blake")).querySelector("[aria-label='Edit message']").click()`)
	avery.waitVisible(".editor-input")
	avery.typeInto(".editor-input", ", welcome aboard")
	avery.key("Enter")
	blake.waitText(".msg-theirs .msg-body", "Hello Blake, welcome aboard")
	blake.waitText(".msg-theirs .msg-edited", "edited")
	avery.send("Oops, wrong chat")
	blake.waitText(".msg-theirs .msg-body", "Oops, wrong chat")
	avery.eval(`[...document.querySelectorAll(".msg-mine")].find((m) => m.textContent.includes("Oops, wrong chat")).querySelector("[aria-label='Delete message']").click()`)
	avery.clickText(".confirm button", "Delete")
	blake.waitText(".msg-theirs .msg-body-deleted", "This message was deleted")
	blake.wait("the deleted text gone", `![...document.querySelectorAll(".msg-body")].some((e) => e.textContent.includes("Oops"))`)

	// A named group, found by extension number and by name.
	avery.clickText(".list-toolbar button", "New conversation")
	avery.typeInto("#nc-search", "103")
	avery.waitVisible("#nc-opt-103")
	avery.waitGone("#nc-opt-102")
	avery.key("Enter")
	avery.waitText(".picker .chip", "Casey Chen")
	avery.typeInto("#nc-search", "blake")
	avery.waitVisible("#nc-opt-102")
	avery.waitGone("#nc-opt-103")
	avery.key("Enter")
	avery.waitText(".picker .chip", "Blake Rivera")
	avery.waitVisible("#nc-name")
	avery.typeInto("#nc-name", "Front desk")
	avery.click(".modal-new button[type=submit]")
	avery.waitText(".chat-title", "Front desk")
	avery.send("Welcome to the front desk")
	blake.waitRow("Front desk")

	// A text message: New Conversation takes a phone number in any common
	// format when I have a texting number; the reply comes in live.
	avery.clickText(".list-toolbar button", "New conversation")
	avery.typeInto("#nc-search", "(415) 555-0199")
	avery.waitText("#nc-opt-tel", "Text (415) 555-0199")
	avery.key("Enter")
	avery.waitText(".picker .chip", "(415) 555-0199")
	avery.click(".modal-new button[type=submit]")
	avery.waitText(".chat-title", "+1 415-555-0199")
	avery.send("Your order is ready")
	avery.wait("a delivery status", `!!document.querySelector(".msg-mine .tick-sent, .msg-mine .tick-delivered")`)
	if code := inbound(t, s, "sim-secret", "portal-1", "+14155550199", "+14155550100", "Thanks, on my way!"); code/100 != 2 {
		t.Fatalf("inbound text = %d", code)
	}
	avery.waitText(".msg-theirs .msg-body", "Thanks, on my way!")
	blake.waitRow("+1 415-555-0199")
	avery.screenshot("11-text-conversation")

	// By keyboard alone: Escape closes a dialog; arrows move through the
	// list, Enter replies; Enter sends.
	avery.clickText(".list-toolbar button", "New conversation")
	avery.waitVisible("#nc-search")
	avery.key("Escape")
	avery.waitGone(".modal-new")
	avery.openRow("Front desk")
	avery.eval(`document.querySelector('.conv[tabindex="0"]').focus()`)
	avery.key("ArrowDown")
	avery.waitText(".chat-title", "Blake Rivera")
	avery.key("Enter")
	avery.wait("the focus in the composer", `document.activeElement === document.querySelector(".composer-input")`)
	avery.typeInto(".composer-input", "Sent from the keyboard")
	avery.key("Enter")
	blake.waitText(".conv-preview", "Sent from the keyboard")

	// A third user on a phone-sized screen: the list and the chat swap.
	casey := newPage(t, browser, "casey", s.url, 390, 780, true)
	casey.open()
	casey.signIn("103@acme.example")
	casey.waitRow("Front desk")
	casey.screenshot("08-phone-list")
	casey.openRow("Front desk")
	casey.waitText(".msg-theirs .msg-body", "Welcome to the front desk")
	casey.wait("the list pane hidden", `getComputedStyle(document.querySelector(".list-pane")).display === "none"`)
	casey.screenshot("09-phone-chat")
	casey.click(".back-button")
	casey.wait("the chat pane hidden", `!document.querySelector(".chat-pane") || getComputedStyle(document.querySelector(".chat-pane")).display === "none"`)
	casey.waitVisible(".conversations")

	// Delete a conversation: highlight it, Delete, confirm.
	blake.clickText(".conv", "Front desk")
	blake.click(`.list-toolbar [aria-label="Delete conversation"]`)
	blake.waitText(".confirm", "Delete this conversation?")
	blake.screenshot("10-delete-confirmation")
	blake.clickText(".confirm button", "Delete")
	blake.wait("the group gone from the list", `![...document.querySelectorAll(".conv-title")].some((e) => e.textContent === "Front desk")`)
	blake.waitRow("Avery Brooks")

	// The contact list opens a chat with a click; presence: Blake signs
	// out and turns gray for Avery.
	avery.click(".dock-bar")
	avery.typeInto(".dock-search input", "cas")
	avery.waitGone(`.contact[data-ext="102"]`)
	avery.click(`.contact[data-ext="103"]`)
	avery.waitText(".chat-title", "Casey Chen")
	avery.do(chromedp.Focus(chromedp.CSS(".dock-search input")))
	avery.key("Escape") // clears the search
	avery.waitVisible(`.contact[data-ext="102"][data-presence="blue"]`)
	blake.click(".profile-button")
	blake.clickText("#profile-menu [role=menuitem]", "Sign out")
	blake.waitVisible("#login-user")
	avery.waitVisible(`.contact[data-ext="102"][data-presence="gray"]`)
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestPortalReconnect: the history loads older pages as I scroll up; the
// server restarts while I am signed in; the page says it is reconnecting,
// sends what I wrote meanwhile exactly once, and gets live messages again.
func TestPortalReconnect(t *testing.T) {
	requirePortal(t)
	addr := freeAddr(t)
	s := startServer(t, newData(t), "--addr", addr)
	checkPortalServed(t, s)
	blake := s.login("102@acme.example")
	conv := blake.conversation([]string{"101"}, "")
	for i := 1; i <= 70; i++ {
		blake.send(conv.ID, fmt.Sprintf("h%d", i), fmt.Sprintf("History message %d", i))
	}

	browser := newBrowser(t)
	avery := newPage(t, browser, "avery-reconnect", s.url, 1280, 800, false)
	avery.open()
	avery.signIn("101@acme.example")
	avery.openRow("Blake Rivera")
	avery.waitText(".msg-body", "History message 70")
	if n := evalValue[int](avery, `document.querySelectorAll(".msg[data-seq]").length`); n >= 70 {
		t.Errorf("the first page shows %d messages, want fewer than 70 (older ones load on scroll)", n)
	}
	avery.wait("older messages loaded by scrolling up",
		`(() => { const h = document.querySelector(".history"); h.scrollTop = 0; return !!document.querySelector('.msg[data-seq="1"]'); })()`)
	avery.waitText(".history-start", "beginning of your conversation")

	// The server stops: the page says so and keeps what I send.
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	avery.waitText(".conn-offline", "Reconnecting")
	avery.send("Written while the server was down")
	avery.waitVisible(".msg-pending")
	avery.screenshot("12-reconnecting")

	s.start("--addr", addr)
	avery.waitGone(".conn-offline")
	avery.waitGone(".msg-pending")
	blake.send(conv.ID, "after-restart", "Back after the restart")
	avery.waitText(".msg-theirs .msg-body", "Back after the restart")

	// The network drops: what was sent meanwhile arrives once, replayed from
	// the cursor when the network is back.
	avery.setOffline(true)
	avery.waitText(".conn-offline", "Reconnecting")
	blake.send(conv.ID, "missed-1", "Sent while you were offline")
	blake.send(conv.ID, "missed-2", "And once more while you were offline")
	avery.setOffline(false)
	avery.waitGone(".conn-offline")
	avery.waitText(".msg-theirs .msg-body", "And once more while you were offline")
	avery.mu.Lock()
	sockets := avery.sockets
	avery.mu.Unlock()
	if len(sockets) < 3 || strings.Contains(sockets[0], "since=") || !strings.Contains(sockets[len(sockets)-1], "since=") {
		t.Errorf("WebSockets opened: %q; want a first one without a cursor, then reconnections that resume with ?since=", sockets)
	}

	count := func(text string) int {
		return evalValue[int](avery, fmt.Sprintf(`[...document.querySelectorAll(".msg-body")].filter((e) => e.textContent === %s).length`, js(text)))
	}
	for _, text := range []string{"Written while the server was down", "Back after the restart", "History message 70",
		"Sent while you were offline", "And once more while you were offline"} {
		if n := count(text); n != 1 {
			t.Errorf("%q shows %d times in the page, want once", text, n)
		}
	}
	stored := 0
	for _, m := range blake.messages(conv.ID, "?limit=10") {
		if m.Body == "Written while the server was down" {
			stored++
		}
	}
	if stored != 1 {
		t.Errorf("the server has %d copies of the message sent while it was down, want 1", stored)
	}
}
