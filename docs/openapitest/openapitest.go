// Package openapitest checks real HTTP exchanges against the OpenAPI
// document of package docs, so that the API and its description cannot drift
// apart unnoticed. It is for tests only; the server binary never imports it.
//
// A test suite typically makes one Validator, calls Check after every request
// it sends, and at the end asserts that every documented operation was
// exercised:
//
//	v := openapitest.New(t)
//	// ... for each request:
//	v.Check(t, req, reqBody, resp, respBody)
//	// ... finally:
//	for _, op := range v.Uncovered() {
//		t.Errorf("operation %s was never exercised", op)
//	}
package openapitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/switchboard-chat/switchboard/docs"
)

// Validator checks responses against docs/openapi.yaml and records which
// documented operations it has seen. It is safe for concurrent use.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
	ops    []string // "METHOD PATH", sorted

	mu      sync.Mutex
	covered map[string]bool
}

// New loads and validates the embedded OpenAPI document and builds a router
// over its operations. An invalid document fails tb immediately.
func New(tb testing.TB) *Validator {
	tb.Helper()
	v, err := newValidator(docs.OpenAPI)
	if err != nil {
		tb.Fatalf("openapitest: %v", err)
	}
	return v
}

func newValidator(data []byte) (*Validator, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml does not load: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml: building the router: %w", err)
	}
	v := &Validator{doc: doc, router: router, covered: make(map[string]bool)}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			v.ops = append(v.ops, method+" "+path)
		}
	}
	slices.Sort(v.ops)
	return v, nil
}

// Operations returns every documented operation as "METHOD PATH", with the
// path as written in the document (for example
// "GET /api/v1/conversations/{id}"), sorted.
func (v *Validator) Operations() []string {
	return slices.Clone(v.ops)
}

// Covered returns the set of operations, keyed as in Operations, that Check
// has matched a request to so far (whether or not the response was valid).
// The map is a copy.
func (v *Validator) Covered() map[string]bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	m := make(map[string]bool, len(v.covered))
	for k, ok := range v.covered {
		m[k] = ok
	}
	return m
}

// Uncovered returns the documented operations that Check has not seen yet,
// sorted.
func (v *Validator) Uncovered() []string {
	covered := v.Covered()
	var out []string
	for _, op := range v.ops {
		if !covered[op] {
			out = append(out, op)
		}
	}
	return out
}

// Check validates one exchange: it finds the documented operation of req
// (by method and path only; scheme, host and port are ignored), then checks
// resp's status (an undocumented status is an error), its documented headers
// and, for a JSON response other than 204, its body respBody against the
// response schema. Any mismatch is reported with tb.Errorf; the test goes on.
//
// reqBody is the body that was sent (nil if none); it is only quoted in
// failure messages. Request bodies and parameters are not validated, so that
// tests can send bad input on purpose. Authentication is not checked.
func (v *Validator) Check(tb testing.TB, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	tb.Helper()
	if req == nil || resp == nil {
		tb.Errorf("openapitest: Check needs a request and a response (got request %v, response %v)", req != nil, resp != nil)
		return
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	where := fmt.Sprintf("%s %s", method, req.URL.RequestURI())

	// Route on the path alone: tests run on random localhost ports, and
	// the document's server is "/".
	rr := req.WithContext(context.Background())
	rr.Method = method
	rr.Host = ""
	rr.URL = &url.URL{Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
	route, pathParams, err := v.router.FindRoute(rr)
	if err != nil {
		reason := err.Error()
		var re *routers.RouteError
		if errors.As(err, &re) {
			reason = re.Reason
		}
		tb.Errorf("openapitest: %s → %d: route not in document (%s)", where, resp.StatusCode, reason)
		return
	}
	op := route.Method + " " + route.Path
	v.mu.Lock()
	v.covered[op] = true
	v.mu.Unlock()

	status := resp.StatusCode
	header := resp.Header
	if header == nil {
		header = http.Header{}
	}
	mediaType := ""
	if ct := header.Get("Content-Type"); ct != "" {
		mediaType, _, err = mime.ParseMediaType(ct)
		if err != nil {
			tb.Errorf("openapitest: %s (%s) → %d: malformed Content-Type %q: %v", where, op, status, ct, err)
			return
		}
	}
	isJSON := mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")

	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
		ExcludeResponseBody:   status == http.StatusNoContent || !isJSON,
	}
	if opts.ExcludeResponseBody && status != http.StatusNoContent && mediaType != "" {
		// kin-openapi checks the media type only along with the body; for a
		// body it does not decode, at least check that the type is documented.
		if r := route.Operation.Responses.Status(status); r != nil && r.Value != nil && len(r.Value.Content) > 0 {
			if r.Value.Content.Get(mediaType) == nil {
				tb.Errorf("openapitest: %s (%s) → %d: Content-Type %q is not documented for this status (documented: %s)%s",
					where, op, status, mediaType, strings.Join(slices.Sorted(maps.Keys(r.Value.Content)), ", "), excerpts(reqBody, respBody))
			}
		}
	}

	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    rr,
			PathParams: pathParams,
			Route:      route,
			Options:    opts,
		},
		Status:  status,
		Header:  header,
		Options: opts,
	}
	input.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		tb.Errorf("openapitest: %s (%s) → %d does not match docs/openapi.yaml:\n%s%s", where, op, status, describe(err), excerpts(reqBody, respBody))
	}
}

// describe renders a validation error as one line per problem, each with
// the JSON pointer of the offending value, without the full schema dumps
// that kin-openapi attaches to schema errors.
func describe(err error) string {
	var lines []string
	var walk func(err error, prefix string)
	walk = func(err error, prefix string) {
		var me openapi3.MultiError
		var re *openapi3filter.ResponseError
		var se *openapi3.SchemaError
		switch {
		case errors.As(err, &me):
			for _, e := range me {
				walk(e, prefix)
			}
		case errors.As(err, &re) && re.Err != nil:
			var inner openapi3.MultiError
			var innerSE *openapi3.SchemaError
			if errors.As(re.Err, &inner) || errors.As(re.Err, &innerSE) {
				lines = append(lines, re.Reason+":")
				walk(re.Err, prefix)
			} else {
				lines = append(lines, re.Reason+": "+re.Err.Error())
			}
		case errors.As(err, &re):
			lines = append(lines, re.Reason)
		case errors.As(err, &se):
			at := prefix + "/" + strings.Join(se.JSONPointer(), "/")
			if at != "/" {
				at = strings.TrimSuffix(at, "/")
			}
			lines = append(lines, fmt.Sprintf("  at %s: %s", at, se.Reason))
			// kin-openapi drops why each alternative failed; find out again
			// for the alternatives that are not just null (a nullable $ref).
			if se.Schema != nil && (se.SchemaField == "anyOf" || se.SchemaField == "oneOf") {
				alts := se.Schema.AnyOf
				if se.SchemaField == "oneOf" {
					alts = se.Schema.OneOf
				}
				for _, alt := range alts {
					if alt == nil || alt.Value == nil || alt.Value.Type.Is("null") {
						continue
					}
					if e := alt.Value.VisitJSON(se.Value, openapi3.MultiErrors(), openapi3.EnableJSONSchema2020(), openapi3.VisitAsResponse()); e != nil {
						walk(e, strings.TrimSuffix(at, "/"))
					}
				}
			}
		default:
			lines = append(lines, err.Error())
		}
	}
	walk(err, "")
	return "  " + strings.Join(lines, "\n  ")
}

// excerpts quotes the request and response bodies, shortened.
func excerpts(reqBody, respBody []byte) string {
	var b strings.Builder
	if len(bytes.TrimSpace(reqBody)) > 0 {
		fmt.Fprintf(&b, "\n  request body: %s", shorten(reqBody))
	}
	fmt.Fprintf(&b, "\n  response body: %s", shorten(respBody))
	return b.String()
}

func shorten(b []byte) string {
	const max = 2000
	s := string(bytes.TrimSpace(b))
	if s == "" {
		return "(empty)"
	}
	if len(s) > max {
		return s[:max] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return s
}
