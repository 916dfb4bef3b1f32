package dumont

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// answer is what the fake API says to one request.
type answer struct {
	status int
	body   string
	header map[string]string
}

type seen struct {
	method, path, query string
	header              http.Header
	body                map[string]any
}

// fakeAPI answers from answers in turn (the last one again once they run out) and keeps each request.
func fakeAPI(t *testing.T, answers ...answer) (*Client, *[]seen) {
	t.Helper()
	var mu sync.Mutex
	var requests []seen
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		raw, _ := io.ReadAll(r.Body)
		got := seen{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, header: r.Header}
		if len(raw) > 0 {
			_ = json.Unmarshal(raw, &got.body)
		}
		requests = append(requests, got)
		next := answers[len(answers)-1]
		if len(requests) <= len(answers) {
			next = answers[len(requests)-1]
		}
		for name, value := range next.header {
			w.Header().Set(name, value)
		}
		w.WriteHeader(next.status)
		_, _ = io.WriteString(w, next.body)
	}))
	t.Cleanup(server.Close)
	return NewClient("dumont_sk_0123456789abcdef", WithBaseURL(server.URL), WithMaxRetries(0)), &requests
}

func TestCreateSendsTheAPIsSpellingTheKeyAndAnIdempotencyKey(t *testing.T) {
	client, requests := fakeAPI(t, answer{201, `{"success": true, "data": {"id": "inst_1", "status": "starting"}}`, nil})
	created, err := client.Instances.Create(&CreateInstanceInput{GPUType: "RTX 4090", Region: "US-East"})
	if err != nil || created.ID != "inst_1" || created.Status != "starting" {
		t.Fatalf("created %+v, %v", created, err)
	}
	got := (*requests)[0]
	if got.method != "POST" || got.path != "/api/v1/instances" {
		t.Fatalf("sent %s %s", got.method, got.path)
	}
	if len(got.body) != 2 || got.body["gpu_type"] != "RTX 4090" || got.body["region"] != "US-East" {
		t.Fatalf("sent body %v", got.body)
	}
	if got.header.Get("X-API-Key") != "dumont_sk_0123456789abcdef" || len(got.header.Get("Idempotency-Key")) != 32 {
		t.Fatalf("sent headers %v", got.header)
	}
}

func TestARefusalIsAnErrorWithTheEnvelopesCodeMessageAndDetails(t *testing.T) {
	body := `{"success": false, "error": {"code": "INVALID_STATE", "message": "not running", "details": {"current_state": "stopped"}}}`
	client, _ := fakeAPI(t, answer{409, body, nil})
	_, err := client.Instances.Stop("inst_1")
	var apiError *Error
	if !errors.As(err, &apiError) {
		t.Fatalf("got %v", err)
	}
	if apiError.Status != 409 || apiError.Code != CodeInvalidState || apiError.Message != "not running" ||
		apiError.Details["current_state"] != "stopped" || !IsInvalidState(err) {
		t.Fatalf("got %+v", apiError)
	}
}

func TestNotFoundAndValidationAreToldApart(t *testing.T) {
	client, _ := fakeAPI(t,
		answer{404, `{"success": false, "error": {"code": "INSTANCE_NOT_FOUND", "message": "no such instance"}}`, nil},
		answer{400, `{"success": false, "error": {"code": "VALIDATION_ERROR", "message": "bad", "details": {"fields": {"gpu_type": "unknown"}}}}`, nil},
	)
	_, err := client.Instances.Get("inst_x")
	if !IsNotFound(err) || IsValidation(err) {
		t.Fatalf("got %v", err)
	}
	_, err = client.Instances.Create(&CreateInstanceInput{GPUType: "Voodoo"})
	if !IsValidation(err) || IsNotFound(err) {
		t.Fatalf("got %v", err)
	}
}

func TestA429IsARateLimitErrorWithRetryAfter(t *testing.T) {
	client, requests := fakeAPI(t, answer{429, `{"success": false, "error": {"code": "RATE_LIMITED", "message": "slow down"}}`, map[string]string{"Retry-After": "7"}})
	_, err := client.Instances.Get("inst_1")
	var limited *RateLimitError
	if !errors.As(err, &limited) || limited.RetryAfter != 7*time.Second || limited.APIError.Code != CodeRateLimited {
		t.Fatalf("got %v", err)
	}
	var apiError *Error
	if !errors.As(err, &apiError) || apiError.Status != 429 {
		t.Fatalf("errors.As found no *Error in %v", err)
	}
	if len(*requests) != 1 {
		t.Fatalf("retried without being asked: %d requests", len(*requests))
	}
}

func TestWithMaxRetriesA429IsRetriedWithTheSameIdempotencyKey(t *testing.T) {
	client, requests := fakeAPI(t,
		answer{429, `{"success": false, "error": {"code": "RATE_LIMITED", "message": "slow down"}}`, map[string]string{"Retry-After": "0"}},
		answer{201, `{"success": true, "data": {"id": "inst_1", "status": "starting"}}`, nil},
	)
	WithMaxRetries(2)(client)
	created, err := client.Instances.Create(&CreateInstanceInput{GPUType: "A100"})
	if err != nil || created.ID != "inst_1" || len(*requests) != 2 {
		t.Fatalf("created %+v, %v after %d requests", created, err, len(*requests))
	}
	if (*requests)[0].header.Get("Idempotency-Key") != (*requests)[1].header.Get("Idempotency-Key") {
		t.Fatal("the retry changed its idempotency key")
	}
}

func TestListAllWalksEveryPage(t *testing.T) {
	page := func(n int, ids string) answer {
		return answer{200, `{"success": true, "data": [` + ids + `], "meta": {"page": ` + string(rune('0'+n)) + `, "per_page": 2, "total": 5}}`, nil}
	}
	client, requests := fakeAPI(t, page(1, `{"id": "a"}, {"id": "b"}`), page(2, `{"id": "c"}, {"id": "d"}`), page(3, `{"id": "e"}`))
	all, err := client.Instances.ListAllWithContext(context.Background(), &ListInstancesInput{ListOptions: ListOptions{PerPage: 2}, Status: "running"})
	if err != nil || len(all) != 5 || all[4].ID != "e" {
		t.Fatalf("got %+v, %v", all, err)
	}
	if (*requests)[2].query != "page=3&per_page=2&status=running" {
		t.Fatalf("asked %q", (*requests)[2].query)
	}
}

func TestAPlaceholderKeyStandsForTheEnvironmentsKey(t *testing.T) {
	t.Setenv("DUMONT_API_KEY", "dumont_sk_fromenvironment")
	for _, placeholder := range []string{"dumont_sk_...", "dumont_sk_…", "your_key", "YOUR_API_KEY", ""} {
		if key := NewClient(placeholder).apiKey; key != "dumont_sk_fromenvironment" {
			t.Errorf("%q gave %q", placeholder, key)
		}
	}
	if key := NewClient("dumont_sk_0123456789mine").apiKey; key != "dumont_sk_0123456789mine" {
		t.Errorf("a real key was replaced by %q", key)
	}
}

func TestAContextEndsTheRequest(t *testing.T) {
	client, _ := fakeAPI(t, answer{200, `{"success": true, "data": {"id": "inst_1"}}`, nil})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := client.Instances.GetWithContext(ctx, "inst_1")
	var apiError *Error
	if !errors.As(err, &apiError) || apiError.Code != CodeConnection {
		t.Fatalf("got %v", err)
	}
}

func TestABaseURLWrittenWithAPIReachesTheSameRoutes(t *testing.T) {
	for _, written := range []string{"https://dumontcloud.com/api", "https://dumontcloud.com/api/", "https://dumontcloud.com"} {
		if got := NewClient("dumont_sk_0123456789abcdef", WithBaseURL(written)).BaseURL(); got != "https://dumontcloud.com" {
			t.Errorf("%q gave %q", written, got)
		}
	}
}
