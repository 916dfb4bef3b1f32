package dumont

import (
	"context"
	"net/url"
	"time"
)

// APIKey is one of the team's keys; Key is answered only when it is created.
type APIKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Key        string     `json:"key,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// Team is a team you are in, and your role there.
type Team struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Plan    string `json:"plan"`
	Role    string `json:"role"`
	Current bool   `json:"current"`
}

// AccountService reads teams and manages API keys.
type AccountService struct{ client *Client }

// Teams lists your teams and your role in each.
func (s *AccountService) Teams() ([]Team, error) {
	return s.TeamsWithContext(context.Background())
}

// TeamsWithContext is Teams with a context.
func (s *AccountService) TeamsWithContext(ctx context.Context) ([]Team, error) {
	var teams []Team
	return teams, s.client.call(ctx, request{method: "GET", path: "/api/v1/teams"}, &teams)
}

// APIKeys lists the team's API keys.
func (s *AccountService) APIKeys() ([]APIKey, error) {
	return s.APIKeysWithContext(context.Background())
}

// APIKeysWithContext is APIKeys with a context.
func (s *AccountService) APIKeysWithContext(ctx context.Context) ([]APIKey, error) {
	var keys []APIKey
	return keys, s.client.call(ctx, request{method: "GET", path: "/api/v1/api-keys"}, &keys)
}

// CreateAPIKey makes a key; its whole value is answered this once.
func (s *AccountService) CreateAPIKey(name string) (*APIKey, error) {
	return s.CreateAPIKeyWithContext(context.Background(), name)
}

// CreateAPIKeyWithContext is CreateAPIKey with a context.
func (s *AccountService) CreateAPIKeyWithContext(ctx context.Context, name string) (*APIKey, error) {
	key := &APIKey{}
	req := request{method: "POST", path: "/api/v1/api-keys", body: map[string]string{"name": name}, idempotencyKey: NewIdempotencyKey()}
	return key, s.client.call(ctx, req, key)
}

// RevokeAPIKey stops a key working at once.
func (s *AccountService) RevokeAPIKey(id string) error {
	return s.RevokeAPIKeyWithContext(context.Background(), id)
}

// RevokeAPIKeyWithContext is RevokeAPIKey with a context.
func (s *AccountService) RevokeAPIKeyWithContext(ctx context.Context, id string) error {
	return s.client.call(ctx, request{method: "DELETE", path: "/api/v1/api-keys/" + url.PathEscape(id)}, nil)
}
