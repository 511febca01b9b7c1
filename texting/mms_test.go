package texting

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/blob"
	"github.com/switchboard-chat/switchboard/chat"
	"github.com/switchboard-chat/switchboard/sqlite"
)

func TestCheckMMS(t *testing.T) {
	pic := func(n int64) *switchboard.Attachment {
		return &switchboard.Attachment{Name: "p.png", ContentType: "image/png", Size: n}
	}
	pics := func(k int, n int64) []*switchboard.Attachment {
		var out []*switchboard.Attachment
		for range k {
			out = append(out, pic(n))
		}
		return out
	}
	pdf := &switchboard.Attachment{Name: "terms.pdf", ContentType: "application/pdf", Size: 10}
	for _, tc := range []struct {
		name     string
		atts     []*switchboard.Attachment
		maxBytes int64
		want     string // in the EINVALID message; "" for no error
	}{
		{"no attachments", nil, 0, ""},
		{"one picture", pics(1, 1000), 5 << 20, ""},
		{"ten pictures at the limit", pics(10, 100), 1000, ""},
		{"not a picture", []*switchboard.Attachment{pic(10), pdf}, 5 << 20, "terms.pdf is not a picture; only pictures can be sent by MMS."},
		{"not a picture, provider without MMS", []*switchboard.Attachment{pdf}, 0, "only pictures"},
		{"provider without MMS", pics(1, 10), 0, "This texting number's provider cannot send pictures (MMS)."},
		{"eleven pictures", pics(11, 10), 5 << 20, "An MMS can carry at most 10 pictures."},
		{"too large", pics(1, 1<<20+1), 1 << 20, "The pictures are 1.0 MB; this provider sends at most 1.0 MB by MMS."},
		{"too large together", pics(3, 600<<10), 5 << 20 / 4, "The pictures are 1.8 MB; this provider sends at most 1.2 MB by MMS."},
		{"too large in KB", pics(2, 1500), 2000, "The pictures are 3 KB; this provider sends at most 2 KB by MMS."},
	} {
		err := checkMMS(tc.atts, tc.maxBytes)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: checkMMS = %v, want nil", tc.name, err)
			}
			continue
		}
		if switchboard.ErrorCode(err) != switchboard.EINVALID || !strings.Contains(switchboard.ErrorMessage(err), tc.want) {
			t.Errorf("%s: checkMMS = %v, want EINVALID with %q", tc.name, err, tc.want)
		}
	}
}

// fakeProvider is a provider whose only part that matters is its limit.
type fakeProvider struct{ maxBytes int64 }

func (p fakeProvider) Send(context.Context, *switchboard.OutboundSMS) (switchboard.SendResult, error) {
	return switchboard.SendResult{}, switchboard.Errorf(switchboard.EUNAVAILABLE, "Not sending in this test.")
}
func (p fakeProvider) ParseWebhook(*http.Request, []byte, string) (*switchboard.Webhook, error) {
	return nil, switchboard.Errorf(switchboard.EUNAUTHORIZED, "No webhooks in this test.")
}
func (p fakeProvider) FetchMedia(context.Context, string) (io.ReadCloser, error) {
	return nil, switchboard.Errorf(switchboard.EINVALID, "No media in this test.")
}
func (p fakeProvider) MaxMMSBytes() int64 { return p.maxBytes }

// TestSendMMS checks that chat.Service.SendMessage, with the texting
// service installed, refuses what the provider of an SMS conversation
// could not send by MMS, and stores nothing then: no message, no outbox
// item.
func TestSendMMS(t *testing.T) {
	bg := t.Context()
	store, err := sqlite.Open(bg, filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.CreateDomain(bg, &switchboard.Domain{Name: "acme.example"}); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"101", "102"} {
		if err := store.CreateUser(bg, &switchboard.User{Domain: "acme.example", Extension: ext, Name: ext, Level: switchboard.LevelBasic, PasswordHash: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	chatSvc := chat.New(chat.Deps{Store: store, Blobs: blobs})
	limits := map[string]int64{"mms": 2000, "nomms": 0}
	svc := New(Deps{Store: store, Chat: chatSvc, Factory: func(p *switchboard.Provider, _ func(switchboard.DeliveryReport)) (switchboard.SMSProvider, error) {
		return fakeProvider{maxBytes: limits[p.Name]}, nil
	}})
	for name := range limits {
		if err := svc.AddProvider(bg, &switchboard.Provider{Name: name, Kind: switchboard.ProviderSim, Credentials: map[string]string{"secret": "s"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.AddNumber(bg, "+14155550100", "acme.example", "mms", []string{"101"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddNumber(bg, "+14155550101", "acme.example", "nomms", []string{"101"}); err != nil {
		t.Fatal(err)
	}

	as := func(ext string) context.Context {
		return switchboard.NewContextWithIdentity(bg, switchboard.Identity{Domain: "acme.example", Extension: ext})
	}
	ctx := as("101")
	mmsConv, _, err := svc.StartConversation(ctx, "+14155550100", []string{"+14155550142"})
	if err != nil {
		t.Fatal(err)
	}
	noMMSConv, _, err := svc.StartConversation(ctx, "+14155550101", []string{"+14155550142"})
	if err != nil {
		t.Fatal(err)
	}
	chatConv, _, err := chatSvc.CreateConversation(ctx, []string{"102"}, "")
	if err != nil {
		t.Fatal(err)
	}
	upload := func(ctx context.Context, name string, data []byte) string {
		t.Helper()
		a, err := chatSvc.Upload(ctx, name, bytes.NewReader(data))
		if err != nil {
			t.Fatalf("Upload(%s): %v", name, err)
		}
		return a.ID
	}
	small := upload(ctx, "small.png", picture(t, 100))
	big := upload(ctx, "big.png", picture(t, 2001))
	halfA, halfB := upload(ctx, "a.png", picture(t, 1200)), upload(ctx, "b.png", picture(t, 1201))
	doc := upload(ctx, "terms.pdf", []byte("%PDF-1.4 not really a document"))
	foreign := upload(as("102"), "theirs.png", picture(t, 100))

	messageCount := func(id string) int {
		t.Helper()
		list, err := store.ListMessages(ctx, id, switchboard.MessageQuery{Limit: switchboard.MaxMessagesLimit})
		if switchboard.ErrorCode(err) == switchboard.ENOTFOUND {
			return 0
		} else if err != nil {
			t.Fatalf("ListMessages(%s): %v", id, err)
		}
		return len(list)
	}
	for _, tc := range []struct {
		name   string
		conv   string
		atts   []string
		code   string
		text   string // in the error message
		stored bool   // a message (and for SMS an outbox item) is stored
	}{
		{"picture within the limit", mmsConv.ID, []string{small}, "", "", true},
		{"not a picture", mmsConv.ID, []string{small, doc}, switchboard.EINVALID, "terms.pdf is not a picture", false},
		{"too large", mmsConv.ID, []string{big}, switchboard.EINVALID, "this provider sends at most 2 KB by MMS", false},
		{"too large together", mmsConv.ID, []string{halfA, halfB}, switchboard.EINVALID, "this provider sends at most 2 KB by MMS", false},
		{"provider without MMS", noMMSConv.ID, []string{small}, switchboard.EINVALID, "cannot send pictures (MMS)", false},
		{"text only, provider without MMS", noMMSConv.ID, nil, "", "", true},
		{"not a picture in a chat conversation", chatConv.ID, []string{doc}, "", "", true},
		{"another's upload", mmsConv.ID, []string{foreign}, switchboard.ENOTFOUND, "", false},
		{"unknown upload", mmsConv.ID, []string{"nope"}, switchboard.ENOTFOUND, "", false},
		{"unknown conversation", "nope", []string{small}, switchboard.ENOTFOUND, "", false},
	} {
		before := messageCount(tc.conv)
		m, _, err := chatSvc.SendMessage(ctx, tc.conv, "", "Hi", tc.atts)
		if code := switchboard.ErrorCode(err); code != tc.code || !strings.Contains(switchboard.ErrorMessage(err), tc.text) {
			t.Errorf("%s: SendMessage = %v, want code %q with %q", tc.name, err, tc.code, tc.text)
		}
		if got := messageCount(tc.conv) - before; got != map[bool]int{true: 1}[tc.stored] {
			t.Errorf("%s: %d messages stored, want stored %v", tc.name, got, tc.stored)
		}
		if err == nil && tc.conv != chatConv.ID && m.Status != switchboard.StatusQueued {
			t.Errorf("%s: message status %q, want %q", tc.name, m.Status, switchboard.StatusQueued)
		}
	}
	// One outbox item per text stored: none for the refused ones.
	items, err := store.ClaimOutbox(bg, time.Now().Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 {
		t.Errorf("outbox has %d items, want 2 (the picture within the limit, the text)", len(items))
	}
}

// picture is a PNG of size bytes: one pixel, padded after its end (which
// decoders ignore).
func picture(t *testing.T, size int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	if b.Len() > size {
		t.Fatalf("a PNG takes %d bytes, more than %d", b.Len(), size)
	}
	return append(b.Bytes(), make([]byte, size-b.Len())...)
}
