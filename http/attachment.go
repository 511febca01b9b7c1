package http

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/switchboard-chat/switchboard"
)

// multipartOverhead allows for the multipart framing around the file.
const multipartOverhead = 64 << 10

// uploadAttachment takes a multipart form whose field "file" is streamed
// straight to storage; other fields are ignored.
func (s *Server) uploadAttachment(w http.ResponseWriter, r *http.Request) {
	limit := s.chat.MaxUpload()
	if r.ContentLength > limit+multipartOverhead {
		Error(w, r, s.logger, switchboard.Errorf(switchboard.ETOOLARGE, "The file is larger than the limit of %d MB.", limit>>20))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit+multipartOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		Error(w, r, s.logger, switchboard.Errorf(switchboard.EINVALID, "Send the file as multipart/form-data in a field named \"file\"."))
		return
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			Error(w, r, s.logger, switchboard.Errorf(switchboard.EINVALID, "The form has no field named \"file\"."))
			return
		} else if err != nil {
			Error(w, r, s.logger, uploadError(err))
			return
		}
		if part.FormName() != "file" {
			part.Close()
			continue
		}
		a, err := s.chat.Upload(r.Context(), part.FileName(), part)
		part.Close()
		if err != nil {
			Error(w, r, s.logger, uploadError(err))
			return
		}
		writeJSON(w, http.StatusCreated, a)
		return
	}
}

// uploadError turns a failure while reading the request body into what
// the client should hear.
func uploadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return switchboard.Errorf(switchboard.ETOOLARGE, "The file is larger than the limit.")
	}
	var se *switchboard.Error
	if errors.As(err, &se) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "multipart") {
		return switchboard.Errorf(switchboard.EINVALID, "The upload was cut off or is not a valid multipart form.")
	}
	return err
}

// inlineTypes are shown in the browser; everything else is downloaded.
var inlineTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

func (s *Server) downloadAttachment(w http.ResponseWriter, r *http.Request) {
	s.serveAttachment(w, r, false)
}

func (s *Server) downloadThumbnail(w http.ResponseWriter, r *http.Request) {
	s.serveAttachment(w, r, true)
}

// serveAttachment serves the bytes with range support. Uploaded HTML, SVG
// or anything else can never run script in the portal's origin: the
// response is sandboxed by its CSP, never sniffed, and downloaded unless it
// is a plain picture.
func (s *Server) serveAttachment(w http.ResponseWriter, r *http.Request, thumbnail bool) {
	a, f, err := s.chat.OpenAttachment(r.Context(), r.PathValue("id"), thumbnail)
	if err != nil {
		Error(w, r, s.logger, err)
		return
	}
	defer f.Close()
	ct, name := a.ContentType, a.Name
	if thumbnail {
		ct = a.ThumbType
	}
	disposition := "attachment"
	if inlineTypes[ct] {
		disposition = "inline"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": name}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("ETag", `"`+a.SHA256+boolSuffix(thumbnail)+`"`)
	http.ServeContent(w, r, "", a.CreatedAt, f)
}

func boolSuffix(thumb bool) string {
	if thumb {
		return "-t"
	}
	return ""
}
