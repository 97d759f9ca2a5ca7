package mappings

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
)

// digest identifies a mapping file's content.
func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Loaded returns the mappings of s loaded from files (not the built-in
// ones), by file name.
func (s *Set) Loaded() []*Inbound {
	if s == nil {
		return nil
	}
	b := Builtin()
	var out []*Inbound
	for k, m := range s.inbound {
		if b.inbound[k] != m {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *Inbound) int { return strings.Compare(a.File, b.File) })
	return out
}
