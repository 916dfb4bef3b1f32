package dumont

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

// HibernationEvent is one hibernation of an instance: when its machine was given back, why, and what
// that has saved. WokeAt and DeletedAt stay nil while it is still hibernated.
type HibernationEvent struct {
	InstanceID string    `json:"instance_id"`
	Timestamp  time.Time `json:"timestamp"`
	Reason     string    `json:"reason"`
	// Automatic tells serverless mode hibernated it for idleness, rather than a person or the credit.
	Automatic      bool       `json:"automatic"`
	SavingsPerHour float64    `json:"savings_per_hour"`
	WokeAt         *time.Time `json:"woke_at"`
	DeletedAt      *time.Time `json:"deleted_at"`
	// Saved is the hourly price times the hours it stayed hibernated, so far.
	Saved float64 `json:"saved"`
}

// HibernationHistory is the team's hibernations over a number of days, newest first, and their savings.
type HibernationHistory struct {
	Events       []HibernationEvent `json:"events"`
	TotalSavings float64            `json:"total_savings"`
}

// HibernationHistory reads every hibernation of the team's instances in the last days days (1 to 365;
// 7 when days is 0), newest first.
func (s *InstancesService) HibernationHistory(days int) (*HibernationHistory, error) {
	return s.HibernationHistoryWithContext(context.Background(), days)
}

// HibernationHistoryWithContext is HibernationHistory with a context.
func (s *InstancesService) HibernationHistoryWithContext(ctx context.Context, days int) (*HibernationHistory, error) {
	query := url.Values{}
	if days > 0 {
		query.Set("days", strconv.Itoa(days))
	}
	history := &HibernationHistory{}
	req := request{method: "GET", path: "/api/metrics/hibernation/events", query: query}
	return history, s.client.call(ctx, req, history)
}
