package main

import (
	"bytes"
	bin "encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type attachment struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
}

// upload posts a multipart form with the file under the given name and
// client-declared content type, and returns the status and body.
func (c *client) upload(name, declaredType string, data []byte) (int, []byte) {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("note", "ignored")
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, name))
	h.Set("Content-Type", declaredType)
	part, _ := mw.CreatePart(h)
	part.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", c.s.url+"/api/v1/attachments", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	req.Body = io.NopCloser(bytes.NewReader(nil))
	getSpec(c.t).Check(c.t, req, nil, resp, body)
	return resp.StatusCode, body
}

func (c *client) mustUpload(name, declaredType string, data []byte) attachment {
	c.t.Helper()
	status, body := c.upload(name, declaredType, data)
	if status != 201 {
		c.t.Fatalf("upload %s = %d %s", name, status, body)
	}
	var a attachment
	json.Unmarshal(body, &a)
	return a
}

// get fetches a path with the client's token and optional extra headers.
func (c *client) get(path string, header ...string) (*http.Response, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.s.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	getSpec(c.t).Check(c.t, req, nil, resp, body)
	return resp, body
}

func pngImage(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// jpegWithExif returns a w×h JPEG whose EXIF says orientation 6 (rotate
// 90° clockwise to display) and carries a GPS position.
func jpegWithExif(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	var j bytes.Buffer
	if err := jpeg.Encode(&j, img, nil); err != nil {
		t.Fatal(err)
	}
	be := bin.BigEndian
	var tiff bytes.Buffer
	tiff.WriteString("MM\x00\x2a")
	bin.Write(&tiff, be, uint32(8))
	// IFD0: Orientation = 6, GPS IFD pointer.
	bin.Write(&tiff, be, uint16(2))
	bin.Write(&tiff, be, []uint16{0x0112, 3})
	bin.Write(&tiff, be, uint32(1))
	bin.Write(&tiff, be, []uint16{6, 0})
	bin.Write(&tiff, be, []uint16{0x8825, 4})
	bin.Write(&tiff, be, uint32(1))
	bin.Write(&tiff, be, uint32(8+2+12*2+4))
	bin.Write(&tiff, be, uint32(0))
	// GPS IFD: GPSLatitudeRef "N", GPSLatitude as a marker string.
	bin.Write(&tiff, be, uint16(2))
	bin.Write(&tiff, be, []uint16{0x0001, 2})
	bin.Write(&tiff, be, uint32(2))
	tiff.WriteString("N\x00\x00\x00")
	bin.Write(&tiff, be, []uint16{0x001d, 2})
	bin.Write(&tiff, be, uint32(11))
	bin.Write(&tiff, be, uint32(tiff.Len()+4+4))
	bin.Write(&tiff, be, uint32(0))
	tiff.WriteString("GPS-SECRET\x00")
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	be.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, j.Bytes()[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, j.Bytes()[2:]...)
}

func blobFiles(t *testing.T, data string) []string {
	t.Helper()
	var files []string
	filepath.WalkDir(filepath.Join(data, "files"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	return files
}

func TestAttachments(t *testing.T) {
	data := newData(t)
	s := startServer(t, data)
	a, b, c := s.login("101@acme.example"), s.login("102@acme.example"), s.login("103@acme.example")
	x := s.login("101@globex.example")
	conv := a.conversation([]string{"102"}, "")
	sb := b.connect("")

	pic := pngImage(t, 1200, 600)
	up := a.mustUpload("chart.png", "application/octet-stream", pic)
	if up.ContentType != "image/png" || up.Width != 1200 || up.Height != 600 || up.Size != int64(len(pic)) || up.Name != "chart.png" {
		t.Errorf("upload = %+v", up)
	}
	// Before it is posted, only the uploader sees it.
	for _, other := range []*client{b, x} {
		if resp, _ := other.get("/api/v1/attachments/" + up.ID); resp.StatusCode != 404 {
			t.Errorf("%s downloads an unposted upload: %d", other.ext, resp.StatusCode)
		}
	}
	// A message may be attachments alone.
	var m struct {
		message
		Attachments []attachment `json:"attachments"`
	}
	a.mustDo("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"client_id": "p1", "attachments": []string{up.ID}}, 201, &m)
	if len(m.Attachments) != 1 || m.Attachments[0].ID != up.ID || m.Attachments[0].Width != 1200 {
		t.Errorf("message attachments = %+v", m.Attachments)
	}
	f := sb.nextOf("message.created", 5*time.Second)
	if !strings.Contains(string(f.Data), up.ID) {
		t.Errorf("102 received %s without the attachment", f.Data)
	}
	resp, body := b.get("/api/v1/attachments/" + up.ID)
	if resp.StatusCode != 200 || !bytes.Equal(body, pic) || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("member download = %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "inline") || !strings.Contains(cd, "chart.png") {
		t.Errorf("Content-Disposition = %q", cd)
	}
	resp, body = b.get("/api/v1/attachments/" + up.ID + "/thumbnail")
	if resp.StatusCode != 200 {
		t.Fatalf("thumbnail = %d %s", resp.StatusCode, body)
	}
	thumb, _, err := image.Decode(bytes.NewReader(body))
	if err != nil || thumb.Bounds().Dx() != 480 || thumb.Bounds().Dy() != 240 {
		t.Errorf("thumbnail %v: %v", thumb.Bounds(), err)
	}
	// Not a member, another domain: not found.
	for _, other := range []*client{c, x} {
		for _, p := range []string{"", "/thumbnail"} {
			if resp, body := other.get("/api/v1/attachments/" + up.ID + p); resp.StatusCode != 404 || !strings.Contains(string(body), "not_found") {
				t.Errorf("%s downloads %s: %d", other.ext, p, resp.StatusCode)
			}
		}
	}
	// Range requests.
	resp, body = b.get("/api/v1/attachments/"+up.ID, "Range", "bytes=10-19")
	if resp.StatusCode != 206 || !bytes.Equal(body, pic[10:20]) {
		t.Errorf("range = %d %d bytes", resp.StatusCode, len(body))
	}
	// Someone else's upload cannot be posted.
	theirs := c.mustUpload("notes.txt", "text/plain", []byte("my notes"))
	if status, _ := a.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"attachments": []string{theirs.ID}}); status != 404 {
		t.Errorf("posting another's upload = %d, want 404", status)
	}
	var many []string
	for i := range 11 {
		many = append(many, a.mustUpload(fmt.Sprintf("f%d.txt", i), "text/plain", []byte(fmt.Sprintf("file %d", i))).ID)
	}
	if status, _ := a.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"body": "x", "attachments": many}); status != 400 {
		t.Errorf("11 attachments = %d, want 400", status)
	}
	if status, _ := a.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"body": "ten", "attachments": many[:10]}); status != 201 {
		t.Errorf("10 attachments = %d, want 201", status)
	}
}

// An HTML file claiming to be a picture is stored as what it is and can
// never run script in the portal's origin.
func TestAttachmentForgedType(t *testing.T) {
	s := startServer(t, newData(t))
	a := s.login("101@acme.example")
	html := []byte("<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>")
	up := a.mustUpload("cat.png", "image/png", html)
	if up.ContentType != "text/html" || up.Width != 0 {
		t.Errorf("forged upload = %+v, want text/html without dimensions", up)
	}
	resp, _ := a.get("/api/v1/attachments/" + up.ID)
	h := resp.Header
	if !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") || h.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("headers = %v", h)
	}
	if resp, _ := a.get("/api/v1/attachments/" + up.ID + "/thumbnail"); resp.StatusCode != 404 {
		t.Errorf("thumbnail of HTML = %d", resp.StatusCode)
	}
	svg := a.mustUpload("logo.svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>`))
	resp, _ = a.get("/api/v1/attachments/" + svg.ID)
	if !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("svg headers = %v", resp.Header)
	}
}

// Pictures: EXIF orientation is honoured and GPS never leaks into the
// thumbnail; a corrupt picture is still a file; the same bytes are stored
// once.
func TestAttachmentPictures(t *testing.T) {
	data := newData(t)
	s := startServer(t, data)
	a := s.login("101@acme.example")

	exif := jpegWithExif(t, 64, 32)
	up := a.mustUpload("photo.jpg", "image/jpeg", exif)
	if up.Width != 32 || up.Height != 64 {
		t.Errorf("oriented size = %dx%d, want 32x64", up.Width, up.Height)
	}
	resp, orig := a.get("/api/v1/attachments/" + up.ID)
	if !bytes.Equal(orig, exif) {
		t.Errorf("original not returned as uploaded")
	}
	resp, thumb := a.get("/api/v1/attachments/" + up.ID + "/thumbnail")
	if resp.StatusCode != 200 || bytes.Contains(thumb, []byte("Exif")) || bytes.Contains(thumb, []byte("GPS-SECRET")) {
		t.Errorf("thumbnail = %d, carries EXIF or GPS", resp.StatusCode)
	}
	if img, _, err := image.Decode(bytes.NewReader(thumb)); err != nil || img.Bounds().Dx() != 32 || img.Bounds().Dy() != 64 {
		t.Errorf("thumbnail not upright: %v %v", err, img)
	}

	corrupt := append(pngImage(t, 50, 50)[:60], bytes.Repeat([]byte{0xAB}, 500)...)
	bad := a.mustUpload("broken.png", "image/png", corrupt)
	if bad.ContentType != "image/png" || bad.Width != 0 || bad.Height != 0 {
		t.Errorf("corrupt picture = %+v", bad)
	}
	if resp, body := a.get("/api/v1/attachments/" + bad.ID); resp.StatusCode != 200 || !bytes.Equal(body, corrupt) {
		t.Errorf("corrupt picture download = %d", resp.StatusCode)
	}

	before := len(blobFiles(t, data))
	one := a.mustUpload("a.bin", "application/octet-stream", bytes.Repeat([]byte("same bytes "), 1000))
	two := a.mustUpload("b.bin", "application/octet-stream", bytes.Repeat([]byte("same bytes "), 1000))
	if one.ID == two.ID || one.SHA256 != two.SHA256 {
		t.Errorf("same bytes: %+v %+v", one, two)
	}
	if after := len(blobFiles(t, data)); after != before+1 {
		t.Errorf("same bytes twice added %d files, want 1", after-before)
	}
}

// Oversized uploads are refused with too_large, and uploads cut off midway
// leave nothing behind.
func TestAttachmentLimits(t *testing.T) {
	data := newData(t)
	s := startServer(t, data, "--max-upload", "100KB")
	a := s.login("101@acme.example")
	status, body := a.upload("big.bin", "application/octet-stream", bytes.Repeat([]byte{1}, 200<<10))
	if status != 413 || !strings.Contains(string(body), "too_large") {
		t.Errorf("oversize = %d %s, want 413 too_large", status, body)
	}
	status, body = a.upload("empty.txt", "text/plain", nil)
	if status != 400 {
		t.Errorf("empty file = %d %s, want 400", status, body)
	}
	// An upload that stops halfway: the client promises more than it sends
	// and hangs up.
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	part := "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"half.bin\"\r\n\r\n" + strings.Repeat("h", 50<<10)
	fmt.Fprintf(conn, "POST /api/v1/attachments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: %d\r\n\r\n%s",
		a.token, len(part)+40<<10, part)
	time.Sleep(200 * time.Millisecond)
	conn.Close()
	time.Sleep(300 * time.Millisecond)
	if files := blobFiles(t, data); len(files) != 0 {
		t.Errorf("files left behind: %v", files)
	}
	if status, body := a.upload("ok.txt", "text/plain", []byte("still works")); status != 201 {
		t.Errorf("upload after failures = %d %s", status, body)
	}
}
