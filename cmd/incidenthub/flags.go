package main

import (
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// setUsage sends fs's output to w and makes its help spell every flag
// --name, as the README does (the flag package accepts -name and --name
// alike, but its own help prints -name).
func setUsage(fs *flag.FlagSet, w io.Writer) {
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "usage: incidenthub %s [flags]\n\nflags:\n", fs.Name())
		printFlags(w, fs)
	}
}

// printFlags is flag.PrintDefaults with --name.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		var b strings.Builder
		b.WriteString("  --")
		b.WriteString(f.Name)
		name, usage := flag.UnquoteUsage(f)
		if name != "" {
			b.WriteString(" ")
			b.WriteString(name)
		}
		b.WriteString("\n    \t")
		b.WriteString(strings.ReplaceAll(usage, "\n", "\n    \t"))
		if !isZeroValue(f) && !strings.Contains(usage, "(default") {
			if _, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok && name == "string" {
				fmt.Fprintf(&b, " (default %q)", f.DefValue)
			} else {
				fmt.Fprintf(&b, " (default %v)", f.DefValue)
			}
		}
		fmt.Fprintln(w, b.String())
	})
}

// isZeroValue reports whether f's default is its type's zero value, which
// the help does not print (as the flag package decides it).
func isZeroValue(f *flag.Flag) bool {
	t := reflect.TypeOf(f.Value)
	var z reflect.Value
	if t.Kind() == reflect.Pointer {
		z = reflect.New(t.Elem())
	} else {
		z = reflect.Zero(t)
	}
	v, ok := z.Interface().(flag.Value)
	if !ok {
		return f.DefValue == ""
	}
	return f.DefValue == v.String()
}
