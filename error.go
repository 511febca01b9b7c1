package switchboard

import (
	"errors"
	"fmt"
)

// Error codes shared by every transport. Each transport maps them to its own
// status (HTTP status, WebSocket frame, SIP response) in exactly one place.
const (
	EINVALID      = "invalid"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"
	ETOOLARGE     = "too_large"
	ERATELIMITED  = "rate_limited"
	EUNAVAILABLE  = "unavailable"
	EINTERNAL     = "internal"
)

// Error is a domain failure: a code from the list above and a message that is
// fit to show to the user. Anything that is not an *Error is internal and its
// text is never sent to a client.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("switchboard error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted user message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	} else if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user message of the first *Error in err's chain,
// or a generic text for internal errors, whose details must not leak.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	} else if e, ok := errors.AsType[*Error](err); ok {
		return e.Message
	}
	return "Internal error."
}
