package config

import "github.com/incidenthub/incidenthub/internal/secret"

// Secret is a credential read from config. It prints, marshals and logs as
// "<secret>"; Value returns the real text.
type Secret = secret.Secret
