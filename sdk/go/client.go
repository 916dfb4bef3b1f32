// Package dumont is the Go client of the Dumont Cloud API: GPU instances that hibernate when idle and
// fail over without losing data.
//
//	client := dumont.NewClient("dumont_sk_...")
//	instance, err := client.Instances.Create(&dumont.CreateInstanceInput{GPUType: "RTX 4090", Region: "US-East"})
//
// Every call has a WithContext form that takes a context.Context first; the waits (WaitUntilReady,
// WaitUntilComplete) take one only, since the context is what bounds them. A refusal is an *Error
// (errors.As) with the API's code, message and details; a 429 is a *RateLimitError with RetryAfter.
package dumont

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// DefaultBaseURL is where the API is when neither WithBaseURL nor DUMONT_API_URL says otherwise.
const DefaultBaseURL = "https://dumontcloud.com"

const userAgent = "dumont-cloud-go/0.1.0"

// An API key, or an access token (three dot-separated parts). Anything else is a placeholder.
var wellFormedKey = regexp.MustCompile(`^dumont_sk_[A-Za-z0-9_-]{8,}$|^[\w-]+\.[\w-]+\.[\w-]+$`)

// Client calls the API with one key. Its services are safe for concurrent use.
type Client struct {
	baseURL    string
	apiKey     string
	httpClient *http.Client
	maxRetries int

	Instances  *InstancesService
	Snapshots  *SnapshotsService
	Webhooks   *WebhooksService
	Serverless *ServerlessService
	Failover   *FailoverService
	Billing    *BillingService
	Savings    *SavingsService
	Offers     *OffersService
	Account    *AccountService
	Market     *MarketService
	Roles      *RolesService
	Teams      *TeamsService
	SSHKeys    *SSHKeysService
	Advisor    *AdvisorService
}

// Option changes how a Client is made.
type Option func(*Client)

// WithBaseURL sets where the API is (DUMONT_API_URL, else DefaultBaseURL).
func WithBaseURL(baseURL string) Option {
	return func(c *Client) { c.baseURL = cleanBaseURL(baseURL) }
}

// cleanBaseURL drops a trailing slash and `/api`, which the routes carry (the documents write it).
func cleanBaseURL(baseURL string) string {
	return strings.TrimSuffix(strings.TrimRight(baseURL, "/"), "/api")
}

// WithHTTPClient sends requests with httpClient (its Timeout bounds each request; 60 s by default).
func WithHTTPClient(httpClient *http.Client) Option {
	return func(c *Client) { c.httpClient = httpClient }
}

// WithMaxRetries retries a request answered 429 up to n times, after its Retry-After (0: never).
func WithMaxRetries(n int) Option {
	return func(c *Client) { c.maxRetries = n }
}

// NewClient makes a client with an API key (dumont_sk_…) or an access token. An empty key, or one not
// shaped like a key (a placeholder copied from the documents, such as "dumont_sk_..."), stands for
// DUMONT_API_KEY when that is set.
func NewClient(apiKey string, options ...Option) *Client {
	fromEnvironment := os.Getenv("DUMONT_API_KEY")
	if apiKey == "" || (!wellFormedKey.MatchString(apiKey) && fromEnvironment != "") {
		apiKey = fromEnvironment
	}
	c := &Client{
		baseURL:    DefaultBaseURL,
		apiKey:     apiKey,
		httpClient: &http.Client{Timeout: 60 * time.Second},
	}
	if fromEnvironment := os.Getenv("DUMONT_API_URL"); fromEnvironment != "" {
		c.baseURL = cleanBaseURL(fromEnvironment)
	}
	for _, option := range options {
		option(c)
	}
	c.Instances = &InstancesService{client: c}
	c.Snapshots = &SnapshotsService{client: c}
	c.Webhooks = &WebhooksService{client: c}
	c.Serverless = &ServerlessService{client: c}
	c.Failover = &FailoverService{client: c}
	c.Billing = &BillingService{client: c}
	c.Savings = &SavingsService{client: c}
	c.Offers = &OffersService{client: c}
	c.Account = &AccountService{client: c}
	c.Market = &MarketService{client: c}
	c.Roles = &RolesService{client: c}
	c.Teams = &TeamsService{client: c}
	c.SSHKeys = &SSHKeysService{client: c}
	c.Advisor = &AdvisorService{client: c}
	return c
}

// BaseURL is where the client sends requests.
func (c *Client) BaseURL() string { return c.baseURL }

// request is one call: a body is sent as JSON; an idempotency key makes a retried create safe.
type request struct {
	method         string
	path           string
	query          url.Values
	body           any
	idempotencyKey string
}

// NewIdempotencyKey is a random key for the Idempotency-Key header.
func NewIdempotencyKey() string {
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Sprintf("%x", time.Now().UnixNano())
	}
	return hex.EncodeToString(raw)
}

// Do sends a request to path and decodes what it carries into out: the data of a versioned route's
// envelope, or the whole answer. For routes this package has no method for yet.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	return c.call(ctx, request{method: method, path: path, body: body}, out)
}

func (c *Client) call(ctx context.Context, req request, out any) error {
	raw, err := c.send(ctx, req)
	if err != nil || out == nil {
		return err
	}
	return decodeData(raw, out)
}

// decodeData decodes the data of a `{"success": true, "data": …}` envelope, or the whole answer.
func decodeData(raw []byte, out any) error {
	var envelope struct {
		Success bool            `json:"success"`
		Data    json.RawMessage `json:"data"`
	}
	if json.Unmarshal(raw, &envelope) == nil && envelope.Success && envelope.Data != nil {
		raw = envelope.Data
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &Error{Code: "DECODE_ERROR", Message: "could not read the answer: " + err.Error()}
	}
	return nil
}

func (c *Client) send(ctx context.Context, req request) ([]byte, error) {
	if c.apiKey == "" {
		return nil, &Error{Code: "MISSING_API_KEY", Message: "no API key: pass one to NewClient or set DUMONT_API_KEY"}
	}
	for attempt := 0; ; attempt++ {
		raw, err := c.sendOnce(ctx, req)
		var limited *RateLimitError
		if err == nil || !errors.As(err, &limited) || attempt >= c.maxRetries {
			return raw, err
		}
		select {
		case <-ctx.Done():
			return nil, &Error{Code: CodeTimeout, Message: ctx.Err().Error()}
		case <-time.After(limited.RetryAfter):
		}
	}
}

func (c *Client) sendOnce(ctx context.Context, req request) ([]byte, error) {
	target := c.baseURL + req.path
	if len(req.query) > 0 {
		target += "?" + req.query.Encode()
	}
	var body io.Reader
	if req.body != nil {
		encoded, err := json.Marshal(req.body)
		if err != nil {
			return nil, &Error{Code: "ENCODE_ERROR", Message: "could not write the request: " + err.Error()}
		}
		body = bytes.NewReader(encoded)
	}
	httpRequest, err := http.NewRequestWithContext(ctx, req.method, target, body)
	if err != nil {
		return nil, &Error{Code: CodeConnection, Message: err.Error()}
	}
	c.setHeaders(httpRequest, req)
	response, err := c.httpClient.Do(httpRequest)
	if err != nil {
		return nil, &Error{Code: CodeConnection, Message: fmt.Sprintf("could not reach %s: %v", c.baseURL, err)}
	}
	defer response.Body.Close()
	raw, err := io.ReadAll(response.Body)
	if err != nil {
		return nil, &Error{Code: CodeConnection, Message: "the answer was cut short: " + err.Error()}
	}
	if response.StatusCode >= 300 {
		return nil, errorFrom(response.StatusCode, raw, response.Header)
	}
	return raw, nil
}

func (c *Client) setHeaders(httpRequest *http.Request, req request) {
	httpRequest.Header.Set("Accept", "application/json")
	httpRequest.Header.Set("User-Agent", userAgent)
	if strings.HasPrefix(c.apiKey, "dumont_sk_") {
		httpRequest.Header.Set("X-API-Key", c.apiKey)
	} else {
		httpRequest.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	if req.body != nil {
		httpRequest.Header.Set("Content-Type", "application/json")
	}
	if req.idempotencyKey != "" {
		httpRequest.Header.Set("Idempotency-Key", req.idempotencyKey)
	}
}
