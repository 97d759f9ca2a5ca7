package slack

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// DefaultAPIURL is Slack's Web API.
const DefaultAPIURL = "https://slack.com/api/"

// Config is one Slack target: a bot token and the channel incidents go to.
type Config struct {
	Token   string
	Channel string
	// APIURL is the Web API base (default DefaultAPIURL); tests and
	// egress proxies point it elsewhere.
	APIURL string
	// PublicURL is the hub's own base URL, for "open in hub" links.
	PublicURL string
	// Interactive adds the Acknowledge, Resolve, Silence 1h and Reopen
	// buttons to incident messages: set when the hub receives Slack
	// interactions (the config's slack.signing_secret), so a click has
	// somewhere to go.
	Interactive bool
}

// FieldError is a problem with one config field; Field is its YAML key.
type FieldError struct{ Field, Msg string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(c.APIURL, "/") {
		c.APIURL += "/"
	}
}

// Validate reports every problem as a *FieldError.
func (c Config) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{field, fmt.Sprintf(format, args...)})
	}
	switch {
	case c.Token == "":
		add("token", "required for type slack (a bot token, xoxb-…)")
	case !strings.HasPrefix(c.Token, "xox"):
		add("token", "must be a Slack token (xoxb-… or xoxp-…)")
	}
	if c.Channel == "" {
		add("channel", "required for type slack (a channel id such as C0123456789)")
	}
	if c.APIURL != "" {
		if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("api_url", "%q must be an absolute http:// or https:// URL", c.APIURL)
		}
	}
	return errors.Join(errs...)
}
