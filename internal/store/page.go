package store

import "gorm.io/gorm"

// Page runs q (already filtered, including its keyset condition on id) in
// order, fetching one row more than limit to learn whether another page
// follows. It converts the rows with conv and returns the next cursor: the
// last returned row's key, or K's zero value on the last page.
func Page[R, D any, K comparable](q *gorm.DB, order string, limit int, id func(*R) K, conv func(*R) D) ([]D, K, error) {
	var rows []R
	var next K
	if err := q.Order(order).Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, next, err
	}
	if len(rows) > limit {
		rows = rows[:limit]
		next = id(&rows[len(rows)-1])
	}
	out := make([]D, len(rows))
	for i := range rows {
		out[i] = conv(&rows[i])
	}
	return out, next, nil
}
