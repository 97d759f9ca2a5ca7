package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/mappings"
)

// kindInfo is one line of `sources list`.
type kindInfo struct {
	Kind        string `json:"kind"`
	Description string `json:"description"`
	// Auth is the auth type (sources[].auth.type) the vendor can send; ""
	// when the mapping does not say.
	Auth    string   `json:"auth"`
	Docs    string   `json:"docs"`
	Builtin bool     `json:"builtin"`
	File    string   `json:"file,omitempty"`    // a custom kind's mapping file
	Sources []string `json:"sources,omitempty"` // the config's sources of this kind
}

// sourcesCmd runs `sources list`.
func sourcesCmd(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "list" {
		return usageError("sources: want `sources list [--config FILE] [--json]`")
	}
	fs := flag.NewFlagSet("sources list", flag.ContinueOnError)
	setUsage(fs, stderr)
	file := fs.String("config", "", "config file (YAML): also list the kinds of its mappings: and which sources use each kind")
	asJSON := fs.Bool("json", false, "print the list as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("sources list: unexpected argument %q", fs.Arg(0)))
	}
	var cfg *config.Config
	if *file != "" {
		var err error
		if cfg, err = config.Load(*file, getenv); err != nil {
			return err
		}
	}
	list := kindList(cfg)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "KIND\tAUTH\tDOCS\tDESCRIPTION\n")
	for _, k := range list {
		auth := k.Auth
		if auth == "" {
			auth = "-"
		}
		desc := k.Description
		if len(k.Sources) > 0 {
			desc += fmt.Sprintf(" (sources: %s)", strings.Join(k.Sources, ", "))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.Kind, auth, k.Docs, desc)
	}
	return tw.Flush()
}

// kindList describes every kind the config knows (the built-in ones
// without a config), sorted by kind.
func kindList(cfg *config.Config) []kindInfo {
	var set *mappings.Set // nil: the built-in kinds
	bySource := map[string][]string{}
	if cfg != nil {
		set = cfg.Mappings
		for _, s := range cfg.Sources {
			bySource[s.Kind] = append(bySource[s.Kind], s.Name)
		}
	}
	var out []kindInfo
	for _, kind := range set.Kinds() {
		m, _ := set.Inbound(kind)
		k := kindInfo{Kind: kind, Description: m.Description, Auth: m.Auth, Docs: m.Docs,
			Builtin: mappings.KnownKind(kind), Sources: bySource[kind]}
		if !k.Builtin {
			k.File = m.File
		}
		out = append(out, k)
	}
	return out
}
