package dumont

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// schemaOf names the OpenAPI schemas each type of the package reads or sends: the first one's
// required fields must all be the type's, and every field of the type must be in one of them.
var schemaOf = map[reflect.Type][]string{
	reflect.TypeOf(Instance{}):               {"InstanceDetailView", "InstanceView"},
	reflect.TypeOf(InstanceProvider{}):       {"ProviderView"},
	reflect.TypeOf(InstanceFailover{}):       {"FailoverView"},
	reflect.TypeOf(InstanceServerless{}):     {"ServerlessView"},
	reflect.TypeOf(InstanceMetrics{}):        {"MetricsView"},
	reflect.TypeOf(CreatedInstance{}):        {"CreatedInstanceView"},
	reflect.TypeOf(Hibernation{}):            {"HibernatingView"},
	reflect.TypeOf(Waking{}):                 {"WakingView"},
	reflect.TypeOf(Event{}):                  {"EventView"},
	reflect.TypeOf(LogLine{}):                {"LogLineView"},
	reflect.TypeOf(MetricsSeries{}):          {"MetricsSeriesView"},
	reflect.TypeOf(MetricsPoint{}):           {"MetricsPointView"},
	reflect.TypeOf(SSHKey{}):                 {"SshKeyView", "AccountSshKeyView"},
	reflect.TypeOf(Snapshot{}):               {"SnapshotView"},
	reflect.TypeOf(Webhook{}):                {"WebhookView", "CreatedWebhookView"},
	reflect.TypeOf(Delivery{}):               {"DeliveryView"},
	reflect.TypeOf(ServerlessStatus{}):       {"ServerlessStatusView"},
	reflect.TypeOf(FailoverStatus{}):         {"FailoverStatusView"},
	reflect.TypeOf(Failover{}):               {"FailoverRecord"},
	reflect.TypeOf(Standby{}):                {"StandbyView"},
	reflect.TypeOf(Balance{}):                {"BalanceView"},
	reflect.TypeOf(BillingLine{}):            {"HistoryLineView"},
	reflect.TypeOf(CreditReceipt{}):          {"CreditReceiptView"},
	reflect.TypeOf(BillingSettings{}):        {"BillingSettingsView"},
	reflect.TypeOf(SavingsDashboard{}):       {"DashboardView"},
	reflect.TypeOf(SavingsSummary{}):         {"SummaryView"},
	reflect.TypeOf(GPUSavings{}):             {"GpuSavingsView", "GpuSavings"},
	reflect.TypeOf(SavingsHistory{}):         {"SavingsHistoryView"},
	reflect.TypeOf(MonthSavings{}):           {"MonthSavingsView"},
	reflect.TypeOf(SavingsBreakdown{}):       {"BreakdownView"},
	reflect.TypeOf(PriceComparison{}):        {"ComparisonView"},
	reflect.TypeOf(MarketPrice{}):            {"MarketPriceView"},
	reflect.TypeOf(MarketSlice{}):            {"MarketSliceView"},
	reflect.TypeOf(PriceStats{}):             {"PriceStats"},
	reflect.TypeOf(PriceHistory{}):           {"HistoryView"},
	reflect.TypeOf(PriceHistoryPoint{}):      {"HistoryPointView"},
	reflect.TypeOf(PriceForecast{}):          {"ForecastView"},
	reflect.TypeOf(HorizonForecast{}):        {"HorizonForecastView"},
	reflect.TypeOf(Offer{}):                  {"OfferView"},
	reflect.TypeOf(Team{}):                   {"TeamView"},
	reflect.TypeOf(TeamDetail{}):             {"TeamDetailView"},
	reflect.TypeOf(Member{}):                 {"MemberView"},
	reflect.TypeOf(PlanChange{}):             {"PlanChangeView"},
	reflect.TypeOf(Role{}):                   {"RoleView"},
	reflect.TypeOf(APIKey{}):                 {"ApiKeyView", "CreatedApiKeyView"},
	reflect.TypeOf(HibernationHistory{}):     {"HibernationHistoryView"},
	reflect.TypeOf(HibernationEvent{}):       {"HibernationView"},
	reflect.TypeOf(MarketSummary{}):          {"MarketSummaryView"},
	reflect.TypeOf(ProviderStanding{}):       {"ProviderStandingView"},
	reflect.TypeOf(GPUAdvice{}):              {"AdviceView"},
	reflect.TypeOf(GPUChoice{}):              {"ChoiceView"},
	reflect.TypeOf(CreateInstanceInput{}):    {"CreateInstanceRequest"},
	reflect.TypeOf(CreateSnapshotInput{}):    {"NewSnapshotRequest"},
	reflect.TypeOf(CreateWebhookInput{}):     {"NewWebhookRequest"},
	reflect.TypeOf(UpdateWebhookInput{}):     {"WebhookChangesRequest"},
	reflect.TypeOf(CreateRoleInput{}):        {"NewRoleRequest"},
	reflect.TypeOf(GrantInput{}):             {"GrantRequest"},
	reflect.TypeOf(RecommendGPUInput{}):      {"RecommendRequest"},
	reflect.TypeOf(ConfigureFailoverInput{}): {"ConfigureRequest"},
}

type schema struct {
	Properties map[string]json.RawMessage `json:"properties"`
	Required   []string                   `json:"required"`
}

// jsonFields are the names a type's fields are read and sent by, its embedded types' included.
func jsonFields(t reflect.Type) []string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		field := t.Field(i)
		if field.Anonymous {
			names = append(names, jsonFields(field.Type)...)
			continue
		}
		name := strings.Split(field.Tag.Get("json"), ",")[0]
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

func TestEveryTypeReadsAndSendsTheFieldsOfItsSchema(t *testing.T) {
	raw, err := os.ReadFile(openAPIDocument)
	if err != nil {
		t.Fatalf("the OpenAPI document is not beside the SDK: %v", err)
	}
	var document struct {
		Components struct {
			Schemas map[string]schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &document); err != nil {
		t.Fatal(err)
	}
	for goType, names := range schemaOf {
		known := map[string]bool{}
		for _, name := range names {
			found, ok := document.Components.Schemas[name]
			if !ok {
				t.Errorf("%s reads %s, which the API no longer has", goType.Name(), name)
			}
			for property := range found.Properties {
				known[property] = true
			}
		}
		fields := jsonFields(goType)
		has := map[string]bool{}
		for _, field := range fields {
			has[field] = true
			if !known[field] {
				t.Errorf("%s.%s is in none of %v", goType.Name(), field, names)
			}
		}
		var missing []string
		for _, required := range document.Components.Schemas[names[0]].Required {
			if !has[required] && required != "success" {
				missing = append(missing, required)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%s lacks %v of %s", goType.Name(), missing, names[0])
		}
	}
}
