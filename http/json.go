package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/switchboard-chat/switchboard"
)

// maxJSONBody bounds a JSON request body.
const maxJSONBody = 1 << 20

// decode reads a JSON request body into v. Malformed JSON, a field of the
// wrong type, trailing data or an oversized body are EINVALID or ETOOLARGE
// with a message that says what is wrong; unknown fields are ignored.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxJSONBody))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return switchboard.Errorf(switchboard.ETOOLARGE, "Request body is larger than %d bytes.", maxJSONBody)
	} else if err != nil {
		return switchboard.Errorf(switchboard.EINVALID, "Could not read the request body.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return switchboard.Errorf(switchboard.EINVALID, "Request body is empty; send a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return switchboard.Errorf(switchboard.EINVALID, "Malformed JSON at byte %d.", se.Offset)
		case errors.As(err, &te) && te.Field != "":
			return switchboard.Errorf(switchboard.EINVALID, "Field %q must be %s.", te.Field, jsonKind(te.Type.Kind().String()))
		case errors.As(err, &te):
			return switchboard.Errorf(switchboard.EINVALID, "Request body must be a JSON object.")
		default:
			return switchboard.Errorf(switchboard.EINVALID, "Malformed JSON.")
		}
	}
	if dec.More() {
		return switchboard.Errorf(switchboard.EINVALID, "Unexpected data after the JSON object.")
	}
	return nil
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "bool":
		return "true or false"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "of another type"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header()["Content-Type"] = jsonType
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

// writeEncoded writes JSON already encoded by encoding/json as writeJSON
// would write it.
func writeEncoded(w http.ResponseWriter, status int, b []byte) {
	w.Header()["Content-Type"] = jsonType
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte{'\n'})
}

// queryInt reads an optional integer query parameter.
func queryInt(r *http.Request, name string, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, switchboard.Errorf(switchboard.EINVALID, "Query parameter %s must be a whole number.", name)
	}
	return n, nil
}
