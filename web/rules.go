package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/incidenthub/incidenthub"
	"github.com/incidenthub/incidenthub/internal/processor"
	"github.com/incidenthub/incidenthub/rules"
)

// ConfigStatus is the active configuration as GET /api/v1/config shows it:
// which version runs and how the last reload went. It holds no secrets.
type ConfigStatus struct {
	Version    string    `json:"version"`
	LoadedAt   time.Time `json:"loaded_at"`
	File       string    `json:"file"`
	RulesDir   string    `json:"rules_dir,omitempty"`
	RulesFiles []string  `json:"rules_files"`
	Rules      int       `json:"rules"`
	Silences   int       `json:"silences"`
	Sources    int       `json:"sources"`
	// LastReloadAt and LastReloadError describe the latest reload attempt;
	// the error is set while the files on disk are rejected (the running
	// version is then the last good one).
	LastReloadAt    *time.Time `json:"last_reload_at,omitempty"`
	LastReloadError string     `json:"last_reload_error,omitempty"`
	// MappingFiles are the mapping files the config loaded (part of the
	// version); RestartRequired names the settings whose new value on disk
	// takes effect only after a restart (the running value is kept).
	MappingFiles    []string `json:"mapping_files"`
	RestartRequired []string `json:"restart_required"`
}

func (s *server) getConfig(c *gin.Context) {
	var st ConfigStatus
	if s.ConfigStatus != nil {
		st = s.ConfigStatus()
	} else {
		cfg := s.Config()
		st.File, st.Sources = cfg.File, len(cfg.Sources)
	}
	if st.RulesFiles == nil {
		st.RulesFiles = []string{}
	}
	if st.MappingFiles == nil {
		st.MappingFiles = []string{}
	}
	if st.RestartRequired == nil {
		st.RestartRequired = []string{}
	}
	c.JSON(http.StatusOK, gin.H{"config": st})
}

type rulesTestRequest struct {
	Source  string          `json:"source"`
	Payload json.RawMessage `json:"payload"`
	// At evaluates silences as of this time; default now.
	At *time.Time `json:"at"`
}

// maxRulesTestBody bounds a dry-run request like an inbound webhook.
const maxRulesTestBody = 4 << 20

func (s *server) testRules(c *gin.Context) {
	var eng *rules.Engine
	if s.Rules != nil {
		eng = s.Rules() // one engine for the whole request, even across a reload
	}
	if eng == nil {
		s.fail(c, incidenthub.Errorf(incidenthub.EUNAVAILABLE, "routing rules are not loaded in this process"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxRulesTestBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.fail(c, incidenthub.Errorf(incidenthub.ETOOLARGE, "request body over %d bytes", maxRulesTestBody))
			return
		}
		s.fail(c, incidenthub.Errorf(incidenthub.EINVALID, "read body: %v", err))
		return
	}
	var req rulesTestRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.fail(c, incidenthub.Errorf(incidenthub.EINVALID, `body must be {"source": "<name>", "payload": {…}}: %v`, err))
		return
	}
	if req.Source == "" || len(req.Payload) == 0 || string(req.Payload) == "null" {
		s.fail(c, incidenthub.Errorf(incidenthub.EINVALID, `body must be {"source": "<name>", "payload": {…}}: source and payload are required`))
		return
	}
	at := time.Now()
	if req.At != nil {
		at = *req.At
	}
	rep, err := eng.Test(req.Source, req.Payload, at)
	if err != nil {
		s.fail(c, err)
		return
	}
	if s.Store != nil {
		// Which open incident would inhibit each alert, as processing would decide now.
		db := s.Store.DB.WithContext(c.Request.Context())
		if err := rep.FindInhibitors(func(in processor.Inhibit) (int64, error) { return processor.FindInhibitor(db, in) }); err != nil {
			s.fail(c, err)
			return
		}
	}
	c.JSON(http.StatusOK, rep)
}
