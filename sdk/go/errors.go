package dumont

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error is what the API answered when it refused a request: its envelope's code, message and
// details, and the HTTP status (0 when no answer came back).
type Error struct {
	Status  int
	Code    string
	Message string
	Details map[string]any
}

func (e *Error) Error() string {
	return fmt.Sprintf("dumont: %s (%d %s)", e.Message, e.Status, e.Code)
}

// RateLimitError is a 429 (RATE_LIMITED, TOO_MANY_ATTEMPTS): come back after RetryAfter.
// errors.As(err, &dumont.Error{}) finds its code and message too.
type RateLimitError struct {
	APIError   *Error
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s; retry after %s", e.APIError.Error(), e.RetryAfter)
}

// Unwrap lets errors.As find the *Error of a RateLimitError.
func (e *RateLimitError) Unwrap() error { return e.APIError }

// Codes the API answers with; a 404 is one of the *_NOT_FOUND codes.
const (
	CodeValidation          = "VALIDATION_ERROR"
	CodeUnauthenticated     = "UNAUTHENTICATED"
	CodeForbidden           = "FORBIDDEN"
	CodeConflict            = "CONFLICT"
	CodeInvalidState        = "INVALID_STATE"
	CodeInsufficientBalance = "INSUFFICIENT_BALANCE"
	CodeRateLimited         = "RATE_LIMITED"
	CodeServiceUnavailable  = "SERVICE_UNAVAILABLE"
	CodeConnection          = "CONNECTION_ERROR"
	CodeTimeout             = "TIMEOUT"
)

func asError(err error) *Error {
	var found *Error
	if errors.As(err, &found) {
		return found
	}
	return nil
}

// IsNotFound tells whether err says nothing of that id is in your team (404).
func IsNotFound(err error) bool {
	found := asError(err)
	return found != nil && found.Status == http.StatusNotFound
}

// IsValidation tells whether err is a 400: Details["fields"] names each bad field.
func IsValidation(err error) bool {
	found := asError(err)
	return found != nil && found.Code == CodeValidation
}

// IsUnauthenticated tells whether err is a 401: no key, or an unknown, revoked or expired one.
func IsUnauthenticated(err error) bool {
	found := asError(err)
	return found != nil && found.Status == http.StatusUnauthorized
}

// IsInvalidState tells whether err is a 409 INVALID_STATE (e.g. starting a running instance).
func IsInvalidState(err error) bool {
	found := asError(err)
	return found != nil && found.Code == CodeInvalidState
}

// retryAfter reads a Retry-After header: seconds or an HTTP date; a second when absent.
func retryAfter(header string, now time.Time) time.Duration {
	header = strings.TrimSpace(header)
	if seconds, err := strconv.ParseFloat(header, 64); err == nil {
		if seconds < 0 {
			return 0
		}
		return time.Duration(seconds * float64(time.Second))
	}
	if at, err := http.ParseTime(header); err == nil {
		if wait := at.Sub(now); wait > 0 {
			return wait
		}
		return 0
	}
	return time.Second
}

type envelopeError struct {
	Error *struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
}

// errorFrom makes the typed error of an answer that is not a success.
func errorFrom(status int, body []byte, header http.Header) error {
	found := &Error{
		Status:  status,
		Code:    fmt.Sprintf("HTTP_%d", status),
		Message: fmt.Sprintf("the API answered HTTP %d", status),
		Details: map[string]any{},
	}
	var envelope envelopeError
	if json.Unmarshal(body, &envelope) == nil && envelope.Error != nil {
		found.Code = envelope.Error.Code
		found.Message = envelope.Error.Message
		if envelope.Error.Details != nil {
			found.Details = envelope.Error.Details
		}
	}
	if status == http.StatusTooManyRequests {
		return &RateLimitError{APIError: found, RetryAfter: retryAfter(header.Get("Retry-After"), time.Now())}
	}
	return found
}
