package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Session is a row of ui_sessions: a web UI sign-in. IDHash is the SHA-256
// of the cookie's value; the cookie value itself and the API token are
// never stored.
type Session struct {
	IDHash     string `gorm:"primaryKey"`
	TokenName  string
	TokenHash  string
	CSRFToken  string `gorm:"column:csrf_token"`
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RemoteAddr string
	UserAgent  string
}

// TableName implements gorm's Tabler.
func (Session) TableName() string { return "ui_sessions" }

// CreateSession stores a new session inside tx and deletes the expired
// ones.
func CreateSession(tx *gorm.DB, sess *Session) error {
	if err := tx.Where("expires_at <= ?", time.Now().UTC()).Delete(&Session{}).Error; err != nil {
		return fmt.Errorf("purge expired sessions: %w", err)
	}
	if err := tx.Create(sess).Error; err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// GetSession returns the unexpired session whose id hashes to idHash, or
// nil when there is none.
func (s *Store) GetSession(ctx context.Context, idHash string, now time.Time) (*Session, error) {
	var sess Session
	err := s.DB.WithContext(ctx).Where("id_hash = ? AND expires_at > ?", idHash, now.UTC()).Take(&sess).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &sess, nil
}

// DeleteSession ends a session inside tx (sign-out) and reports whether
// it existed.
func DeleteSession(tx *gorm.DB, idHash string) (bool, error) {
	res := tx.Where("id_hash = ?", idHash).Delete(&Session{})
	return res.RowsAffected > 0, res.Error
}
