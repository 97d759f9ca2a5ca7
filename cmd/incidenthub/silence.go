package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/incidenthub/incidenthub/internal/app"
	"github.com/incidenthub/incidenthub/internal/config"
	"github.com/incidenthub/incidenthub/internal/silence"
)

const silenceUsage = `usage: incidenthub silence <add|list|expire|extend|query> [ARGS] [flags]

Runtime silences on a running hub, through its API (--url, default
$INCIDENTHUB_URL or http://` + config.DefaultListen + `), with the token in $` + app.EnvAPIToken + `.

  add MATCHER... --comment TEXT [--duration 2h | --end TIME] [--start TIME] [--expr EXPR]
                       MATCHER is name=value, name!=value, name=~regexp or name!~regexp
                       over an alert field (service, severity, host, …) or a label;
                       prints the new silence's id
  list [--state active|pending|expired] [--json]
  expire ID...         end silences now
  extend ID --by 1h | --end TIME
  query NAME=VALUE...  which active silences match an alert with these fields and labels
                       [--at TIME] [--json]

TIME is RFC 3339 (2026-12-01T18:00:00Z).
`

// EnvURL is the hub's base URL for the commands that call its API.
const EnvURL = "INCIDENTHUB_URL"

// silenceCmd runs `incidenthub silence …` against a running hub's API,
// like amtool against Alertmanager: silences live in the hub's database,
// and the API is what audits who made them.
func silenceCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("silence: want a subcommand\n\n" + silenceUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("silence "+sub, flag.ContinueOnError)
	setUsage(fs, stderr)
	base := fs.String("url", "", "the hub's base URL (default $"+EnvURL+", else http://"+config.DefaultListen+")")
	var (
		comment, expr, start, end, state, at *string
		duration, by                         *time.Duration
		asJSON                               *bool
	)
	switch sub {
	case "add":
		comment = fs.String("comment", "", "why (required): a ticket, the maintenance")
		duration = fs.Duration("duration", 0, "how long from the start, e.g. 2h, 90m (or --end)")
		end = fs.String("end", "", "when it ends, RFC 3339 (or --duration)")
		start = fs.String("start", "", "when it starts, RFC 3339 (default now)")
		expr = fs.String("expr", "", `an expr condition over the alert, e.g. 'severity == "info"'`)
	case "list":
		state = fs.String("state", "", "active, pending or expired (default all)")
		asJSON = fs.Bool("json", false, "print JSON instead of a table")
	case "expire":
	case "extend":
		by = fs.Duration("by", 0, "move the end this much later, e.g. 1h")
		end = fs.String("end", "", "the new end, RFC 3339")
	case "query":
		at = fs.String("at", "", "the time to ask about, RFC 3339 (default now)")
		asJSON = fs.Bool("json", false, "print JSON instead of a table")
	case "-h", "--help", "help":
		fmt.Fprint(stdout, silenceUsage)
		return nil
	default:
		return usageError(fmt.Sprintf("silence: unknown subcommand %q\n\n%s", sub, silenceUsage))
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	c, err := newHubClient(*base, getenv)
	if err != nil {
		return err
	}
	switch sub {
	case "add":
		return silenceAdd(ctx, c, pos, *comment, *expr, *start, *end, *duration, stdout)
	case "list":
		if len(pos) > 0 {
			return usageError(fmt.Sprintf("silence list: unexpected argument %q", pos[0]))
		}
		q := url.Values{}
		if *state != "" {
			q.Set("state", *state)
		}
		return silenceList(ctx, c, "GET", "/api/v1/silences", q, nil, *asJSON, stdout)
	case "expire":
		if len(pos) == 0 {
			return usageError("silence expire: give the ID of at least one silence")
		}
		for _, id := range pos {
			var out struct{ Silence silence.Silence }
			if err := c.do(ctx, http.MethodDelete, "/api/v1/silences/"+url.PathEscape(id), nil, nil, &out); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "expired %s\n", out.Silence.ID)
		}
		return nil
	case "extend":
		if len(pos) != 1 {
			return usageError("silence extend: give one silence ID")
		}
		body := map[string]string{}
		switch {
		case (*by > 0) == (*end != ""):
			return usageError("silence extend: give --by DURATION or --end TIME")
		case *by > 0:
			body["extend_by"] = by.String()
		default:
			body["ends_at"] = *end
		}
		var out struct{ Silence silence.Silence }
		if err := c.do(ctx, http.MethodPost, "/api/v1/silences/"+url.PathEscape(pos[0])+"/extend", nil, body, &out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s now ends at %s\n", out.Silence.ID, out.Silence.EndsAt.UTC().Format(time.RFC3339))
		return nil
	case "query":
		if len(pos) == 0 {
			return usageError("silence query: give the alert's fields and labels as NAME=VALUE (e.g. service=checkout alertname=5xx-rate)")
		}
		pairs := map[string]string{}
		for _, p := range pos {
			name, v, ok := strings.Cut(p, "=")
			if !ok || name == "" || strings.ContainsAny(name, "!~") || strings.HasPrefix(v, "~") {
				return usageError(fmt.Sprintf("silence query: %q: want NAME=VALUE (the alert's value, not a matcher)", p))
			}
			pairs[name] = v
		}
		body := map[string]any{"alert": silence.AlertWith(pairs)}
		if *at != "" {
			body["at"] = *at
		}
		return silenceList(ctx, c, http.MethodPost, "/api/v1/silences/query", nil, body, *asJSON, stdout)
	}
	return nil
}

// parseInterleaved parses flags that may come before, between or after
// the positional arguments, which it returns.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func silenceAdd(ctx context.Context, c *hubClient, args []string, comment, expr, start, end string, d time.Duration, stdout io.Writer) error {
	if len(args) == 0 && expr == "" {
		return usageError("silence add: give at least one MATCHER (e.g. service=checkout) or --expr")
	}
	matchers, err := silence.ParseMatchers(args)
	if err != nil {
		return usageError("silence add: " + err.Error())
	}
	if d > 0 && end != "" {
		return usageError("silence add: give --duration or --end, not both")
	}
	body := map[string]any{"matchers": matchers, "comment": comment}
	if expr != "" {
		body["expr"] = expr
	}
	if start != "" {
		body["starts_at"] = start
	}
	if end != "" {
		body["ends_at"] = end
	}
	if d > 0 {
		body["duration"] = d.String()
	}
	var out struct{ Silence silence.Silence }
	if err := c.do(ctx, http.MethodPost, "/api/v1/silences", nil, body, &out); err != nil {
		return err
	}
	fmt.Fprintln(stdout, out.Silence.ID)
	return nil
}

func silenceList(ctx context.Context, c *hubClient, method, path string, q url.Values, body any, asJSON bool, stdout io.Writer) error {
	var all []silence.Silence
	for {
		var page struct {
			Silences   []silence.Silence `json:"silences"`
			NextCursor string            `json:"next_cursor"`
		}
		if err := c.do(ctx, method, path, q, body, &page); err != nil {
			return err
		}
		all = append(all, page.Silences...)
		if page.NextCursor == "" {
			break
		}
		if q == nil {
			q = url.Values{}
		}
		q.Set("cursor", page.NextCursor)
	}
	if asJSON {
		if all == nil {
			all = []silence.Silence{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(all)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ID\tSTATE\tSTARTS\tENDS\tCREATED BY\tMATCHERS\tCOMMENT\n")
	for _, s := range all {
		what := make([]string, 0, len(s.Matchers)+1)
		for _, m := range s.Matchers {
			what = append(what, m.String())
		}
		if s.Expr != "" {
			what = append(what, "expr: "+s.Expr)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.State, s.StartsAt.UTC().Format(time.RFC3339),
			s.EndsAt.UTC().Format(time.RFC3339), s.CreatedBy, strings.Join(what, " "), oneLine(s.Comment))
	}
	return tw.Flush()
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 60 {
		return string(r[:59]) + "…"
	}
	return s
}

// hubClient calls a running hub's JSON API with a bearer token.
type hubClient struct {
	base  string
	token string
	http  *http.Client
}

func newHubClient(base string, getenv func(string) string) (*hubClient, error) {
	if base == "" {
		base = getenv(EnvURL)
	}
	if base == "" {
		base = "http://" + config.DefaultListen
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError(fmt.Sprintf("--url %q: want http(s)://host[:port]", base))
	}
	token := strings.TrimSpace(getenv(app.EnvAPIToken))
	if token == "" {
		return nil, usageError("set $" + app.EnvAPIToken + " to an API token (operator role to add, expire or extend)")
	}
	return &hubClient{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// do sends a JSON request and decodes the answer into out; an error
// answer becomes "HTTP 422 unprocessable: <message>".
func (c *hubClient) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	target := c.base + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "incidenthub-cli")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, c.base+path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("HTTP %d %s: %s", resp.StatusCode, e.Error.Code, e.Error.Message)
		}
		return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}
