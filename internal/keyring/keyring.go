// Package keyring encrypts the registry's secrets at rest with AES-256-GCM.
//
// A ciphertext is "v1:<key id>:<base64(nonce || sealed)>", so the key that
// sealed it is known without trying each one: a keyring holds one current
// key (which seals) and any number of older keys (which only open), and keys
// can be rotated by adding a new current key and keeping the old one until
// every value is re-sealed.
package keyring

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// EnvKey names the environment variable holding the current key: 32 bytes,
// base64-encoded (e.g. `openssl rand -base64 32`).
const EnvKey = "INCIDENTHUB_SECRET_KEY"

// InsecureDevKeyID is the id of the fixed, publicly known key used with
// --insecure-dev-secrets. Values sealed with it are not protected.
const InsecureDevKeyID = "insecure-dev"

const version = "v1"

// Keyring seals with its current key and opens with any of its keys.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
}

// New builds a keyring from raw 32-byte keys; the first one seals.
func New(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("keyring: no key")
	}
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, key := range keys {
		id, aead, err := newAEAD(key)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		if i == 0 {
			k.current = id
		}
		k.aeads[id] = aead
	}
	return k, nil
}

// InsecureDev returns a keyring whose only key is derived from a public
// string. It exists so a laptop can try rotation without managing a key;
// it protects nothing.
func InsecureDev() *Keyring {
	sum := sha256.Sum256([]byte("incidenthub insecure development key: do not use in production"))
	block, _ := aes.NewCipher(sum[:])
	aead, _ := cipher.NewGCM(block)
	return &Keyring{current: InsecureDevKeyID, aeads: map[string]cipher.AEAD{InsecureDevKeyID: aead}}
}

func newAEAD(key []byte) (string, cipher.AEAD, error) {
	if len(key) != 32 {
		return "", nil, fmt.Errorf("want 32 bytes for AES-256, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return "", nil, err
	}
	return KeyID(key), aead, nil
}

// KeyID names a key without revealing it: the first 8 bytes of a
// domain-separated SHA-256, in hex.
func KeyID(key []byte) string {
	sum := sha256.Sum256(append([]byte("incidenthub key id\x00"), key...))
	return hex.EncodeToString(sum[:8])
}

// Load builds the keyring from the environment value (base64) and/or a key
// file (one base64 key per line; blank lines and # comments are skipped).
// The environment's key, when set, is current; otherwise the file's first.
// Other keys only decrypt. It returns nil, nil when no key is configured.
func Load(envValue, file string) (*Keyring, error) {
	var keys [][]byte
	if v := strings.TrimSpace(envValue); v != "" {
		k, err := decodeKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvKey, err)
		}
		keys = append(keys, k)
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("secret key file: %w", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, err := decodeKey(line)
			if err != nil {
				return nil, fmt.Errorf("secret key file %s:%d: %w", file, n, err)
			}
			keys = append(keys, k)
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("secret key file %s holds no key", file)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return New(keys...)
}

func decodeKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("not base64 (generate a key with `openssl rand -base64 32`)")
	}
	if len(k) != 32 {
		return nil, fmt.Errorf("decodes to %d bytes; AES-256 needs 32 (`openssl rand -base64 32`)", len(k))
	}
	return k, nil
}

// CurrentID is the id of the key that seals.
func (k *Keyring) CurrentID() string { return k.current }

// Has reports whether the keyring holds the key with id.
func (k *Keyring) Has(id string) bool { _, ok := k.aeads[id]; return ok }

// Seal encrypts plaintext with the current key. aad binds the ciphertext to
// its place (e.g. the registry entry it belongs to): opening it with
// another aad fails, so ciphertexts cannot be swapped between rows.
func (k *Keyring) Seal(plaintext, aad string) (string, error) {
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := aead.Seal(nonce, nonce, []byte(plaintext), []byte(aad))
	return version + ":" + k.current + ":" + base64.StdEncoding.EncodeToString(sealed), nil
}

// Open decrypts a value Seal produced.
func (k *Keyring) Open(ciphertext, aad string) (string, error) {
	id, err := KeyIDOf(ciphertext)
	if err != nil {
		return "", err
	}
	aead, ok := k.aeads[id]
	if !ok {
		return "", fmt.Errorf("sealed with key %s, which is not configured (current key: %s)", id, k.current)
	}
	raw, err := base64.StdEncoding.DecodeString(ciphertext[len(version)+len(id)+2:])
	if err != nil || len(raw) < aead.NonceSize() {
		return "", errors.New("malformed ciphertext")
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(aad))
	if err != nil {
		return "", fmt.Errorf("decrypt with key %s: authentication failed", id)
	}
	return string(plain), nil
}

// KeyIDOf returns the id of the key that sealed ciphertext.
func KeyIDOf(ciphertext string) (string, error) {
	parts := strings.SplitN(ciphertext, ":", 3)
	if len(parts) != 3 || parts[0] != version || parts[1] == "" {
		return "", errors.New("malformed ciphertext: want v1:<key id>:<data>")
	}
	return parts[1], nil
}

// IDs lists the ids of every key, the current one first.
func (k *Keyring) IDs() []string {
	ids := []string{k.current}
	for id := range k.aeads {
		if id != k.current {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids[1:])
	return ids
}
