package http

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/switchboard-chat/switchboard"
	"github.com/switchboard-chat/switchboard/chat"
)

// codes maps error codes to HTTP statuses: the one place where they meet.
var codes = map[string]int{
	switchboard.EINVALID:      http.StatusBadRequest,
	switchboard.EUNAUTHORIZED: http.StatusUnauthorized,
	switchboard.EFORBIDDEN:    http.StatusForbidden,
	switchboard.ENOTFOUND:     http.StatusNotFound,
	switchboard.ECONFLICT:     http.StatusConflict,
	switchboard.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	switchboard.ERATELIMITED:  http.StatusTooManyRequests,
	switchboard.EUNAVAILABLE:  http.StatusServiceUnavailable,
	switchboard.EINTERNAL:     http.StatusInternalServerError,
}

// StatusOf returns the HTTP status for an error code.
func StatusOf(code string) int {
	if s, ok := codes[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error writes err as the JSON error shape. Internal errors are logged with
// their details and shown to the client only as "Internal error.".
func Error(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	code, msg := switchboard.ErrorCode(err), switchboard.ErrorMessage(err)
	if code == switchboard.EINTERNAL {
		logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var rl *chat.RateLimitError
	if errors.As(err, &rl) {
		w.Header().Set("Retry-After", strconv.Itoa(int(rl.RetryAfter.Seconds())))
	}
	writeJSON(w, StatusOf(code), errorBody{Error: errorDetail{Code: code, Message: msg}})
}
