package dumont

import (
	"context"
	"net/url"
	"time"
)

// Webhook sends the events it subscribes to, signed, to its URL.
type Webhook struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Events         []string   `json:"events"`
	Enabled        bool       `json:"enabled"`
	CreatedAt      time.Time  `json:"created_at"`
	DisabledReason *string    `json:"disabled_reason"`
	FailingSince   *time.Time `json:"failing_since"`
	// Secret signs the deliveries; answered only when the webhook is created.
	Secret string `json:"secret,omitempty"`
}

// CreateWebhookInput subscribes URL to Events.
type CreateWebhookInput struct {
	URL     string   `json:"url"`
	Events  []string `json:"events"`
	Secret  string   `json:"secret,omitempty"`
	Enabled *bool    `json:"enabled,omitempty"`
}

// WebhooksService subscribes to events.
type WebhooksService struct{ client *Client }

func webhookPath(id string) string { return "/api/v1/webhooks/" + url.PathEscape(id) }

// Create subscribes a URL to events; the answer carries the signing secret, once.
func (s *WebhooksService) Create(input *CreateWebhookInput) (*Webhook, error) {
	return s.CreateWithContext(context.Background(), input)
}

// CreateWithContext is Create with a context.
func (s *WebhooksService) CreateWithContext(ctx context.Context, input *CreateWebhookInput) (*Webhook, error) {
	webhook := &Webhook{}
	req := request{method: "POST", path: "/api/v1/webhooks", body: input, idempotencyKey: NewIdempotencyKey()}
	return webhook, s.client.call(ctx, req, webhook)
}

// Get reads one webhook.
func (s *WebhooksService) Get(id string) (*Webhook, error) {
	return s.GetWithContext(context.Background(), id)
}

// GetWithContext is Get with a context.
func (s *WebhooksService) GetWithContext(ctx context.Context, id string) (*Webhook, error) {
	webhook := &Webhook{}
	return webhook, s.client.call(ctx, request{method: "GET", path: webhookPath(id)}, webhook)
}

// List reads the team's webhooks.
func (s *WebhooksService) List() ([]Webhook, error) {
	return s.ListWithContext(context.Background())
}

// ListWithContext is List with a context.
func (s *WebhooksService) ListWithContext(ctx context.Context) ([]Webhook, error) {
	var webhooks []Webhook
	return webhooks, s.client.call(ctx, request{method: "GET", path: "/api/v1/webhooks"}, &webhooks)
}

// Delete deletes a webhook.
func (s *WebhooksService) Delete(id string) error {
	return s.DeleteWithContext(context.Background(), id)
}

// DeleteWithContext is Delete with a context.
func (s *WebhooksService) DeleteWithContext(ctx context.Context, id string) error {
	return s.client.call(ctx, request{method: "DELETE", path: webhookPath(id)}, nil)
}
