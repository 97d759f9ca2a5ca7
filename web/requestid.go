package web

import (
	"crypto/rand"
	"encoding/hex"
)

// maxRequestIDLen is the longest X-Request-Id accepted from a client.
const maxRequestIDLen = 128

// requestIDFor is the request id of a request whose X-Request-Id header is
// header: the client's own when it is a sane token (1 to 128 characters of
// A-Z, a-z, 0-9, '.', '_', '-': it goes into logs and answers as is),
// else a new random one.
func requestIDFor(header string) string {
	if validRequestID(header) {
		return header
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
