// Package secret holds the type for a credential read from config: it never
// prints, marshals or logs its value.
package secret

// Secret is a credential read from config. It prints, marshals and logs as
// "<secret>"; Value returns the real text.
type Secret string

const redacted = "<secret>"

// Value returns the secret's real text.
func (s Secret) Value() string { return string(s) }

// String hides the value from fmt and loggers.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString hides the value from %#v.
func (s Secret) GoString() string { return s.String() }

// MarshalJSON hides the value from JSON output.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalYAML hides the value from YAML output.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalText hides the value from encoders that use TextMarshaler (slog).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
