package dumont

import (
	"context"
	"encoding/json"
)

// Balance is what the team has, and what its running machines spend.
type Balance struct {
	Balance             float64  `json:"balance"`
	Currency            string   `json:"currency"`
	BurnPerHour         float64  `json:"burn_per_hour"`
	HoursLeft           *float64 `json:"hours_left"`
	LowBalanceThreshold float64  `json:"low_balance_threshold"`
	RunningInstances    int      `json:"running_instances"`
}

// BillingLine is one line of the team's history. Kind is "charge" (GPU hours), "storage" (snapshot
// GB-months) or "credit"; the fields of the other kinds are nil.
type BillingLine struct {
	Kind        string  `json:"kind"`
	Date        string  `json:"date"`
	Amount      float64 `json:"amount"`
	Description *string `json:"description"`
	// Source of a credit: "trial", "payment" or "grant".
	Source          *string  `json:"source"`
	PaymentID       *string  `json:"payment_id"`
	InstanceID      *string  `json:"instance_id"`
	GPUType         *string  `json:"gpu_type"`
	NumGPUs         *int     `json:"num_gpus"`
	Hours           *float64 `json:"hours"`
	PricePerHour    *float64 `json:"price_per_hour"`
	GBMonths        *float64 `json:"gb_months"`
	PricePerGBMonth *float64 `json:"price_per_gb_month"`
}

// BillingHistoryPage is one page of the history, with the totals of every line the filters keep.
type BillingHistoryPage struct {
	Data []BillingLine `json:"data"`
	Meta struct {
		PageMeta
		TotalCharged  float64 `json:"total_charged"`
		TotalCredited float64 `json:"total_credited"`
	} `json:"meta"`
}

// HasNextPage tells whether more lines come after this page.
func (p *BillingHistoryPage) HasNextPage() bool {
	return (&Page[BillingLine]{Data: p.Data, Meta: p.Meta.PageMeta}).HasNextPage()
}

// BillingHistoryInput filters the history: days (UTC, YYYY-MM-DD, both included) and an instance.
type BillingHistoryInput struct {
	ListOptions
	Since      string
	Until      string
	InstanceID string
}

// CreditReceipt is a payment started: pay at CheckoutURL; Balance is set once it is credited.
type CreditReceipt struct {
	PaymentID   string   `json:"payment_id"`
	Amount      float64  `json:"amount"`
	Status      string   `json:"status"`
	Balance     *float64 `json:"balance"`
	CheckoutURL *string  `json:"checkout_url"`
}

// BillingService reads the balance and the history, and adds credits.
type BillingService struct{ client *Client }

// Balance reads the team's balance.
func (s *BillingService) Balance() (*Balance, error) {
	return s.BalanceWithContext(context.Background())
}

// BalanceWithContext is Balance with a context.
func (s *BillingService) BalanceWithContext(ctx context.Context) (*Balance, error) {
	balance := &Balance{}
	return balance, s.client.call(ctx, request{method: "GET", path: "/api/v1/balance"}, balance)
}

func (in *BillingHistoryInput) query() ([]string, ListOptions) {
	if in == nil {
		return nil, ListOptions{}
	}
	return []string{"since", in.Since, "until", in.Until, "instance_id", in.InstanceID}, in.ListOptions
}

// History reads a page of the team's charges and credits, newest first.
func (s *BillingService) History(input *BillingHistoryInput) (*BillingHistoryPage, error) {
	return s.HistoryWithContext(context.Background(), input)
}

// HistoryWithContext is History with a context.
func (s *BillingService) HistoryWithContext(ctx context.Context, input *BillingHistoryInput) (*BillingHistoryPage, error) {
	filters, options := input.query()
	raw, err := s.client.send(ctx, request{method: "GET", path: "/api/v1/billing/history", query: options.apply(queryOf(filters...))})
	if err != nil {
		return nil, err
	}
	page := &BillingHistoryPage{}
	if err := json.Unmarshal(raw, page); err != nil {
		return nil, &Error{Code: "DECODE_ERROR", Message: "could not read the answer: " + err.Error()}
	}
	return page, nil
}

// HistoryAll reads every line of the history the filters keep.
func (s *BillingService) HistoryAll(input *BillingHistoryInput) ([]BillingLine, error) {
	return s.HistoryAllWithContext(context.Background(), input)
}

// HistoryAllWithContext is HistoryAll with a context.
func (s *BillingService) HistoryAllWithContext(ctx context.Context, input *BillingHistoryInput) ([]BillingLine, error) {
	filters, options := input.query()
	return listAll[BillingLine](ctx, s.client, "/api/v1/billing/history", options.apply(queryOf(filters...)))
}

// AddCredits starts a payment of amount dollars (0.01 to 10,000); pay at the receipt's CheckoutURL.
// A retry of the call is the same payment.
func (s *BillingService) AddCredits(amount float64) (*CreditReceipt, error) {
	return s.AddCreditsWithContext(context.Background(), amount)
}

// AddCreditsWithContext is AddCredits with a context.
func (s *BillingService) AddCreditsWithContext(ctx context.Context, amount float64) (*CreditReceipt, error) {
	receipt := &CreditReceipt{}
	req := request{method: "POST", path: "/api/v1/billing/add-credits", body: map[string]float64{"amount": amount}, idempotencyKey: NewIdempotencyKey()}
	return receipt, s.client.call(ctx, req, receipt)
}

// BillingSettings is the team's low-balance threshold as it now stands, and whether it is the
// deployment's default.
type BillingSettings struct {
	LowBalanceThreshold float64 `json:"low_balance_threshold"`
	DefaultThreshold    bool    `json:"default_threshold"`
}

// SetLowBalanceThreshold sets the balance under which the team is warned (balance.low); nil goes back
// to the deployment's default.
func (s *BillingService) SetLowBalanceThreshold(threshold *float64) (*BillingSettings, error) {
	return s.SetLowBalanceThresholdWithContext(context.Background(), threshold)
}

// SetLowBalanceThresholdWithContext is SetLowBalanceThreshold with a context.
func (s *BillingService) SetLowBalanceThresholdWithContext(ctx context.Context, threshold *float64) (*BillingSettings, error) {
	settings := &BillingSettings{}
	req := request{method: "PATCH", path: "/api/v1/billing/settings", body: map[string]*float64{"low_balance_threshold": threshold}}
	return settings, s.client.call(ctx, req, settings)
}

// GrantInput is credits an operator hands a team; Note, shown in the team's history, says why.
type GrantInput struct {
	TeamID string  `json:"team_id"`
	Amount float64 `json:"amount"`
	Note   string  `json:"note,omitempty"`
}

// Grant is for the deployment's operators (no team role allows it): it credits a team Amount dollars
// (0.01 to 10,000) at once, as a "grant" line in the team's history.
func (s *BillingService) Grant(input *GrantInput) (*CreditReceipt, error) {
	return s.GrantWithContext(context.Background(), input)
}

// GrantWithContext is Grant with a context.
func (s *BillingService) GrantWithContext(ctx context.Context, input *GrantInput) (*CreditReceipt, error) {
	if input == nil {
		input = &GrantInput{}
	}
	receipt := &CreditReceipt{}
	req := request{method: "POST", path: "/api/v1/billing/grants", body: input, idempotencyKey: NewIdempotencyKey()}
	return receipt, s.client.call(ctx, req, receipt)
}
