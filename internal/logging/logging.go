// Package logging builds the hub's logger: text or JSON lines (slog), and
// the request id of the HTTP request a line was logged for.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
)

// Formats.
const (
	Text = "text"
	JSON = "json"
)

// New returns a logger writing format ("text", "json"; "" is text) lines
// at level ("debug", "info", "warn", "error"; "" is info) and above to w.
// A line logged with a context that carries a request id
// ([WithRequestID]) gets a request_id attribute.
func New(w io.Writer, format, level string) (*slog.Logger, error) {
	lv, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch format {
	case "", Text:
		h = slog.NewTextHandler(w, opts)
	case JSON:
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want json or text", format)
	}
	return slog.New(requestIDHandler{h}), nil
}

// ParseLevel reads a level name; "" is info.
func ParseLevel(level string) (slog.Level, error) {
	var l slog.Level
	if level == "" {
		return slog.LevelInfo, nil
	}
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	return l, nil
}

// ValidFormat reports whether format names a log format ("" is text).
func ValidFormat(format string) bool { return format == "" || format == Text || format == JSON }

type ctxKey struct{}

// WithRequestID returns ctx carrying the HTTP request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// RequestID is the request id ctx carries, or "".
func RequestID(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// RequestIDKey is the attribute a line's request id is logged under.
const RequestIDKey = "request_id"

// requestIDHandler adds the context's request id to each record that does
// not name one already.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		has := false
		r.Attrs(func(a slog.Attr) bool {
			has = a.Key == RequestIDKey
			return !has
		})
		if !has {
			r.AddAttrs(slog.String(RequestIDKey, id))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
