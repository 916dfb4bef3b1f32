package dumont

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// The committed OpenAPI document, and the Python SDK's table of the routes it calls.
const (
	openAPIDocument = "../../functions/api/openapi.json"
	pythonSDKRoutes = "../python/dumont/_calls.py"
)

// notForTheSDK are the API's operations no method of this package calls, each for its reason.
// None of them may be one the Python SDK calls (a test checks it).
var notForTheSDK = map[string]string{
	// The machines' agents call these with their own tokens.
	"POST /api/agent/actions/{action_id}":              "agent",
	"GET /api/agent/instances":                         "agent",
	"POST /api/agent/logs":                             "agent",
	"GET /api/agent/snapshots/{snapshot_id}/downloads": "agent",
	"POST /api/agent/snapshots/{snapshot_id}/uploads":  "agent",
	"POST /api/agent/status":                           "agent",
	// The SDK is given a key or a token; accounts are made and logged into elsewhere.
	"POST /api/auth/login":       "login",
	"POST /api/v1/auth/login":    "login",
	"POST /api/v1/auth/register": "login",
	// Stripe calls this one.
	"POST /api/v1/billing/stripe-webhook": "stripe",
	// The console's dashboard route, and the older documents' shapes of routes the SDK calls versioned.
	"GET /api/machines":                       "console",
	"GET /api/metrics/predictions/{gpu_name}": "older shape",
	"POST /api/instances":                     "older shape",
	"GET /api/instances/{instance_id}":        "older shape",
	"DELETE /api/instances/{instance_id}":     "older shape",
	"POST /api/snapshots":                     "older shape",
	"GET /api/snapshots/{snapshot_id}":        "older shape",
	"POST /api/webhooks":                      "older shape",
	"GET /api/webhooks":                       "older shape",
	"GET /api/savings/breakdown":              "older shape",
	"GET /api/savings/comparison/{gpu_type}":  "older shape",
	"GET /api/savings/dashboard":              "older shape",
	"GET /api/savings/history":                "older shape",
	"GET /api/savings/summary":                "older shape",
	// Live metrics: a WebSocket to open, not an HTTP call.
	"GET /ws/instance/{instance_id}/metrics": "websocket",
	// Pages for people, not operations.
	"GET /demo-app":     "page",
	"GET /docs":         "page",
	"GET /health":       "page",
	"GET /openapi.json": "page",
}

// everyCall calls each method of the package once (the WithContext forms and the waits call the
// same routes as their plain forms). A method missing here fails TestEveryMethodIsInTheDriftCheck.
var everyCall = map[string]func(c *Client){
	"Account.Teams":                  func(c *Client) { _, _ = c.Account.Teams() },
	"Account.APIKeys":                func(c *Client) { _, _ = c.Account.APIKeys() },
	"Account.CreateAPIKey":           func(c *Client) { _, _ = c.Account.CreateAPIKey("ci") },
	"Account.RevokeAPIKey":           func(c *Client) { _ = c.Account.RevokeAPIKey("key_1") },
	"Advisor.RecommendGPU":           func(c *Client) { _, _ = c.Advisor.RecommendGPU(&RecommendGPUInput{Task: "fine-tune llama2-7b"}) },
	"Billing.Balance":                func(c *Client) { _, _ = c.Billing.Balance() },
	"Billing.History":                func(c *Client) { _, _ = c.Billing.History(nil) },
	"Billing.HistoryAll":             func(c *Client) { _, _ = c.Billing.HistoryAll(nil) },
	"Billing.AddCredits":             func(c *Client) { _, _ = c.Billing.AddCredits(5) },
	"Billing.SetLowBalanceThreshold": func(c *Client) { _, _ = c.Billing.SetLowBalanceThreshold(nil) },
	"Billing.Grant":                  func(c *Client) { _, _ = c.Billing.Grant(&GrantInput{TeamID: "team_1", Amount: 5}) },
	"Failover.Configure":             func(c *Client) { _, _ = c.Failover.Configure(&ConfigureFailoverInput{InstanceID: "inst_1"}) },
	"Failover.Status":                func(c *Client) { _, _ = c.Failover.Status("inst_1") },
	"Failover.Trigger":               func(c *Client) { _, _ = c.Failover.Trigger("inst_1") },
	"Instances.Create":               func(c *Client) { _, _ = c.Instances.Create(&CreateInstanceInput{GPUType: "A100"}) },
	"Instances.Get":                  func(c *Client) { _, _ = c.Instances.Get("inst_1") },
	"Instances.List":                 func(c *Client) { _, _ = c.Instances.List(nil) },
	"Instances.ListAll":              func(c *Client) { _, _ = c.Instances.ListAll(nil) },
	"Instances.Start":                func(c *Client) { _, _ = c.Instances.Start("inst_1") },
	"Instances.Stop":                 func(c *Client) { _, _ = c.Instances.Stop("inst_1") },
	"Instances.Reboot":               func(c *Client) { _, _ = c.Instances.Reboot("inst_1") },
	"Instances.Delete":               func(c *Client) { _, _ = c.Instances.Delete("inst_1") },
	"Instances.Hibernate":            func(c *Client) { _, _ = c.Instances.Hibernate("inst_1") },
	"Instances.Wake":                 func(c *Client) { _, _ = c.Instances.Wake("inst_1") },
	"Instances.Events":               func(c *Client) { _, _ = c.Instances.Events("inst_1") },
	"Instances.Logs":                 func(c *Client) { _, _ = c.Instances.Logs("inst_1", nil) },
	"Instances.Metrics":              func(c *Client) { _, _ = c.Instances.Metrics("inst_1", nil) },
	"Instances.SSHKeys":              func(c *Client) { _, _ = c.Instances.SSHKeys("inst_1") },
	"Instances.AddSSHKey":            func(c *Client) { _, _ = c.Instances.AddSSHKey("inst_1", "ssh-ed25519 AAAA", "") },
	"Instances.RemoveSSHKey":         func(c *Client) { _, _ = c.Instances.RemoveSSHKey("inst_1", "key_1") },
	"Instances.HibernationHistory":   func(c *Client) { _, _ = c.Instances.HibernationHistory(0) },
	"Market.Prices":                  func(c *Client) { _, _ = c.Market.Prices("", "") },
	"Market.History":                 func(c *Client) { _, _ = c.Market.History(&PriceHistoryInput{GPUType: "A100"}) },
	"Market.Predictions":             func(c *Client) { _, _ = c.Market.Predictions("A100", "") },
	"Market.Summary":                 func(c *Client) { _, _ = c.Market.Summary() },
	"Market.Providers":               func(c *Client) { _, _ = c.Market.Providers() },
	"Offers.List":                    func(c *Client) { _, _ = c.Offers.List("", ListOptions{}) },
	"Offers.Search":                  func(c *Client) { _, _ = c.Offers.Search(nil) },
	"Offers.OfGPU":                   func(c *Client) { _, _ = c.Offers.OfGPU("A100", nil) },
	"Roles.List":                     func(c *Client) { _, _ = c.Roles.List() },
	"Roles.Create":                   func(c *Client) { _, _ = c.Roles.Create(&CreateRoleInput{Name: "ops"}) },
	"Savings.GetDashboard":           func(c *Client) { _, _ = c.Savings.GetDashboard() },
	"Savings.Summary":                func(c *Client) { _, _ = c.Savings.Summary("") },
	"Savings.History":                func(c *Client) { _, _ = c.Savings.History(0) },
	"Savings.Breakdown":              func(c *Client) { _, _ = c.Savings.Breakdown("") },
	"Savings.Comparison":             func(c *Client) { _, _ = c.Savings.Comparison("A100") },
	"Serverless.Enable":              func(c *Client) { _, _ = c.Serverless.Enable("inst_1", 0, 0) },
	"Serverless.Disable":             func(c *Client) { _, _ = c.Serverless.Disable("inst_1") },
	"Serverless.Pause":               func(c *Client) { _, _ = c.Serverless.Pause("inst_1") },
	"Serverless.Resume":              func(c *Client) { _, _ = c.Serverless.Resume("inst_1") },
	"Serverless.Status":              func(c *Client) { _, _ = c.Serverless.Status("inst_1") },
	"Snapshots.Create":               func(c *Client) { _, _ = c.Snapshots.Create(&CreateSnapshotInput{InstanceID: "inst_1"}) },
	"Snapshots.Get":                  func(c *Client) { _, _ = c.Snapshots.Get("snap_1") },
	"Snapshots.ListAll":              func(c *Client) { _, _ = c.Snapshots.ListAll("") },
	"Snapshots.Delete":               func(c *Client) { _ = c.Snapshots.Delete("snap_1") },
	"Snapshots.Restore":              func(c *Client) { _, _ = c.Snapshots.Restore("snap_1", "") },
	"SSHKeys.List":                   func(c *Client) { _, _ = c.SSHKeys.List() },
	"SSHKeys.Add":                    func(c *Client) { _, _ = c.SSHKeys.Add("ssh-ed25519 AAAA", "") },
	"SSHKeys.Remove":                 func(c *Client) { _, _ = c.SSHKeys.Remove("key_1") },
	"Teams.List":                     func(c *Client) { _, _ = c.Teams.List() },
	"Teams.Create":                   func(c *Client) { _, _ = c.Teams.Create("ML") },
	"Teams.Get":                      func(c *Client) { _, _ = c.Teams.Get("team_1") },
	"Teams.Members":                  func(c *Client) { _, _ = c.Teams.Members("team_1") },
	"Teams.AddMember":                func(c *Client) { _, _ = c.Teams.AddMember("team_1", "a@example.com", "") },
	"Teams.ChangeMemberRole":         func(c *Client) { _, _ = c.Teams.ChangeMemberRole("team_1", "acct_1", "viewer") },
	"Teams.RemoveMember":             func(c *Client) { _, _ = c.Teams.RemoveMember("team_1", "acct_1") },
	"Teams.ChangePlan":               func(c *Client) { _, _ = c.Teams.ChangePlan("team_1", "pro") },
	"Webhooks.Create":                func(c *Client) { _, _ = c.Webhooks.Create(&CreateWebhookInput{URL: "https://example.com"}) },
	"Webhooks.Get":                   func(c *Client) { _, _ = c.Webhooks.Get("wh_1") },
	"Webhooks.List":                  func(c *Client) { _, _ = c.Webhooks.List() },
	"Webhooks.Delete":                func(c *Client) { _ = c.Webhooks.Delete("wh_1") },
	"Webhooks.Update":                func(c *Client) { _, _ = c.Webhooks.Update("wh_1", &UpdateWebhookInput{}) },
	"Webhooks.Test":                  func(c *Client) { _, _ = c.Webhooks.Test("wh_1") },
	"Webhooks.Deliveries":            func(c *Client) { _, _ = c.Webhooks.Deliveries("wh_1", 0) },
	"Webhooks.Redeliver":             func(c *Client) { _, _ = c.Webhooks.Redeliver("wh_1", "dlv_1") },
}

// servedOperations reads the document's operations as "METHOD /path/{param}".
func servedOperations(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(openAPIDocument)
	if err != nil {
		t.Fatalf("the OpenAPI document is not beside the SDK: %v", err)
	}
	var document struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &document); err != nil {
		t.Fatal(err)
	}
	var operations []string
	for path, methods := range document.Paths {
		for method := range methods {
			operations = append(operations, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(operations)
	return operations
}

// routesCalled runs every call against a server that answers `{}` and says which operation each
// request was: "?" plus the request when none of the document's is.
func routesCalled(t *testing.T, operations []string) map[string][]string {
	t.Helper()
	patterns := map[string]*regexp.Regexp{}
	for _, operation := range operations {
		// QuoteMeta writes a {parameter} as \{parameter\}: any one path segment stands for it.
		template := regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(operation), `[^/]+`)
		patterns[operation] = regexp.MustCompile("^" + template + "$")
	}
	var mu sync.Mutex
	var sent []string
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sent = append(sent, r.Method+" "+r.URL.Path)
		mu.Unlock()
		_, _ = w.Write([]byte(`{}`))
	}))
	defer server.Close()
	called := map[string][]string{}
	for name, call := range everyCall {
		sent = nil
		call(NewClient("dumont_sk_0123456789abcdef", WithBaseURL(server.URL)))
		for _, request := range sent {
			found := "? " + request
			for operation, pattern := range patterns {
				if pattern.MatchString(request) {
					found = operation
				}
			}
			called[found] = append(called[found], name)
		}
	}
	return called
}

func TestEveryRouteTheSDKCallsIsServedAndEveryOperationHasAMethod(t *testing.T) {
	operations := servedOperations(t)
	called := routesCalled(t, operations)
	for operation, by := range called {
		if strings.HasPrefix(operation, "? ") {
			t.Errorf("%v call %s, which the API does not serve", by, strings.TrimPrefix(operation, "? "))
		}
	}
	for _, operation := range operations {
		_, excluded := notForTheSDK[operation]
		if _, has := called[operation]; !has && !excluded {
			t.Errorf("no method calls %s: add one, or say in notForTheSDK why the SDK leaves it", operation)
		}
		if _, has := called[operation]; has && excluded {
			t.Errorf("%s is called by %v but listed in notForTheSDK", operation, called[operation])
		}
	}
}

func TestNoOperationThePythonSDKCallsIsLeftOut(t *testing.T) {
	raw, err := os.ReadFile(pythonSDKRoutes)
	if err != nil {
		t.Fatalf("the Python SDK's routes are not beside the Go SDK: %v", err)
	}
	routes := regexp.MustCompile(`route\("([A-Z]+)", "([^"]+)"\)`).FindAllStringSubmatch(string(raw), -1)
	if len(routes) < 50 {
		t.Fatalf("read only %d routes of the Python SDK", len(routes))
	}
	for _, route := range routes {
		if reason, excluded := notForTheSDK[route[1]+" "+route[2]]; excluded {
			t.Errorf("the Python SDK calls %s %s, which notForTheSDK leaves out (%s)", route[1], route[2], reason)
		}
	}
}

func TestEveryMethodIsInTheDriftCheck(t *testing.T) {
	client := reflect.ValueOf(NewClient("dumont_sk_0123456789abcdef")).Elem()
	for i := 0; i < client.NumField(); i++ {
		field := client.Type().Field(i)
		if !field.IsExported() || !strings.HasSuffix(field.Type.String(), "Service") {
			continue
		}
		service := field.Type
		for m := 0; m < service.NumMethod(); m++ {
			name := service.Method(m).Name
			if strings.HasSuffix(name, "WithContext") || strings.HasPrefix(name, "WaitUntil") {
				continue
			}
			if _, listed := everyCall[field.Name+"."+name]; !listed {
				t.Errorf("%s.%s is not in everyCall", field.Name, name)
			}
		}
	}
}
