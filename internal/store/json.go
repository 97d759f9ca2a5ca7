package store

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
)

// JSON stores a Go value as a JSON document: JSONB on PostgreSQL, TEXT on
// SQLite. Hand-written (20 lines) rather than pulling gorm.io/datatypes,
// which drags in the MySQL and SQL Server drivers.
type JSON[T any] struct{ V T }

// Value implements driver.Valuer.
func (j JSON[T]) Value() (driver.Value, error) {
	b, err := json.Marshal(j.V)
	if err != nil {
		return nil, err
	}
	return string(b), nil
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
