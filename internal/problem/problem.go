// Package problem is the one error type for something wrong at a place in a
// file: the config, a rules file, a mapping file. Loaders collect every
// problem instead of stopping at the first, and sort them for reading.
package problem

import (
	"cmp"
	"errors"
	"fmt"
)

// Problem is one thing wrong in a file, located by file, line, column and
// the dotted key path.
type Problem struct {
	File    string
	Line    int
	Column  int
	Key     string
	Message string
}

func (p *Problem) Error() string {
	loc := p.File
	switch {
	case p.Line > 0 && p.Column > 0:
		loc = fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
	case p.Line > 0:
		loc = fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	if p.Key != "" {
		return fmt.Sprintf("%s: %s: %s", loc, p.Key, p.Message)
	}
	return fmt.Sprintf("%s: %s", loc, p.Message)
}

// Compare orders errors for reading: problems in file first, then the other
// files' by name, each by line and column; other errors compare equal to
// everything (a stable sort leaves them where they were).
func Compare(a, b error, first string) int {
	var pa, pb *Problem
	if !errors.As(a, &pa) || !errors.As(b, &pb) {
		return 0
	}
	rank := func(f string) int {
		if f == first {
			return 0
		}
		return 1
	}
	return cmp.Or(cmp.Compare(rank(pa.File), rank(pb.File)), cmp.Compare(pa.File, pb.File),
		cmp.Compare(pa.Line, pb.Line), cmp.Compare(pa.Column, pb.Column))
}
