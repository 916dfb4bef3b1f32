package dumont

import (
	"context"
	"net/url"
	"strconv"
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

// UpdateWebhookInput changes a webhook; fields left empty (nil for Enabled) stay as they are.
type UpdateWebhookInput struct {
	URL     string   `json:"url,omitempty"`
	Events  []string `json:"events,omitempty"`
	Secret  string   `json:"secret,omitempty"`
	Enabled *bool    `json:"enabled,omitempty"`
}

// Delivery is one event sent to a webhook and how its attempts went. Status is pending, retrying,
// delivered or failed.
type Delivery struct {
	ID            string     `json:"id"`
	WebhookID     string     `json:"webhook_id"`
	Event         string     `json:"event"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	ResponseCode  *int       `json:"response_code"`
	LatencyMS     *float64   `json:"latency_ms"`
	CreatedAt     time.Time  `json:"created_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	// NextAttemptAt is when it is tried next, while it is being retried.
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	Error         *string    `json:"error"`
	// RedeliveryOf is the delivery this one sends again.
	RedeliveryOf *string `json:"redelivery_of"`
}

// WebhooksService subscribes to events.
type WebhooksService struct{ client *Client }

func webhookPath(id string) string { return "/api/v1/webhooks/" + url.PathEscape(id) }

func deliveryPath(webhookID, deliveryID string) string {
	return webhookPath(webhookID) + "/deliveries/" + url.PathEscape(deliveryID)
}

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

// Update changes a webhook's URL, events, secret or whether it is enabled; enabling a disabled one
// turns it back on and forgets its failures.
func (s *WebhooksService) Update(id string, input *UpdateWebhookInput) (*Webhook, error) {
	return s.UpdateWithContext(context.Background(), id, input)
}

// UpdateWithContext is Update with a context.
func (s *WebhooksService) UpdateWithContext(ctx context.Context, id string, input *UpdateWebhookInput) (*Webhook, error) {
	webhook := &Webhook{}
	return webhook, s.client.call(ctx, request{method: "PATCH", path: webhookPath(id), body: input}, webhook)
}

// Test sends the webhook a test event now; the delivery says how it went.
func (s *WebhooksService) Test(id string) (*Delivery, error) {
	return s.TestWithContext(context.Background(), id)
}

// TestWithContext is Test with a context.
func (s *WebhooksService) TestWithContext(ctx context.Context, id string) (*Delivery, error) {
	delivery := &Delivery{}
	return delivery, s.client.call(ctx, request{method: "POST", path: webhookPath(id) + "/test"}, delivery)
}

// Deliveries lists the webhook's last deliveries, newest first (50 when limit is 0, at most 100).
func (s *WebhooksService) Deliveries(id string, limit int) ([]Delivery, error) {
	return s.DeliveriesWithContext(context.Background(), id, limit)
}

// DeliveriesWithContext is Deliveries with a context.
func (s *WebhooksService) DeliveriesWithContext(ctx context.Context, id string, limit int) ([]Delivery, error) {
	query := url.Values{}
	if limit > 0 {
		query.Set("limit", strconv.Itoa(limit))
	}
	var deliveries []Delivery
	req := request{method: "GET", path: webhookPath(id) + "/deliveries", query: query}
	return deliveries, s.client.call(ctx, req, &deliveries)
}

// Redeliver sends a delivery's event again, as a new delivery.
func (s *WebhooksService) Redeliver(webhookID, deliveryID string) (*Delivery, error) {
	return s.RedeliverWithContext(context.Background(), webhookID, deliveryID)
}

// RedeliverWithContext is Redeliver with a context.
func (s *WebhooksService) RedeliverWithContext(ctx context.Context, webhookID, deliveryID string) (*Delivery, error) {
	delivery := &Delivery{}
	req := request{method: "POST", path: deliveryPath(webhookID, deliveryID) + "/redeliver"}
	return delivery, s.client.call(ctx, req, delivery)
}
