package store

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/incidenthub/incidenthub"
)

// JSON stores a Go value as a JSON document: JSONB on PostgreSQL, TEXT on
// SQLite. Hand-written (20 lines) rather than pulling gorm.io/datatypes,
// which drags in the MySQL and SQL Server drivers.
type JSON[T any] struct{ V T }

// Value implements driver.Valuer. json.Marshal writes valid UTF-8 (an
// invalid byte becomes U+FFFD) but a NUL character as \u0000, which
// PostgreSQL's JSONB refuses (SQLSTATE 22P05): it is written as U+FFFD
// instead, on both databases, as incidenthub.RepairText does for text.
func (j JSON[T]) Value() (driver.Value, error) {
	b, err := json.Marshal(j.V)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(b) { // a json.RawMessage is copied as it is
		b = bytes.ToValidUTF8(b, []byte(incidenthub.Replacement))
	}
	return string(withoutNUL(b)), nil
}

// withoutNUL replaces each \u0000 escape in the JSON text b by \ufffd.
// Outside strings JSON has no backslash, and inside one every backslash
// starts an escape, so scanning escape by escape finds exactly the NULs.
func withoutNUL(b []byte) []byte {
	if !bytes.Contains(b, []byte(`\u0000`)) {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		if b[i+1] == 'u' && i+6 <= len(b) && string(b[i+2:i+6]) == "0000" {
			out = append(out, `\ufffd`...)
			i += 5
			continue
		}
		out = append(out, b[i], b[i+1])
		i++
	}
	return out
}

// Scan implements sql.Scanner.
func (j *JSON[T]) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		var zero T
		j.V = zero
		return nil
	case []byte:
		return json.Unmarshal(v, &j.V)
	case string:
		return json.Unmarshal([]byte(v), &j.V)
	}
	return fmt.Errorf("store: cannot scan %T into JSON", src)
}
