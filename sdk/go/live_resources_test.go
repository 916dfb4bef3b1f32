package dumont

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"
)

// newPublicKey is a fresh ed25519 key as one line of a .pub file.
func newPublicKey(t *testing.T) string {
	t.Helper()
	public, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var blob []byte
	for _, part := range [][]byte{[]byte("ssh-ed25519"), public} {
		blob = binary.BigEndian.AppendUint32(blob, uint32(len(part)))
		blob = append(blob, part...)
	}
	return "ssh-ed25519 " + base64.StdEncoding.EncodeToString(blob) + " go-sdk"
}

// waitForStatus polls an instance until it is in status.
func waitForStatus(ctx context.Context, t *testing.T, client *Client, id, status string) {
	t.Helper()
	for {
		instance, err := client.Instances.GetWithContext(ctx, id)
		if err != nil {
			t.Fatalf("waiting for %s to be %s: %v", id, status, err)
		}
		if instance.Status == status {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s still %s, not %s", id, instance.Status, status)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func TestLiveTheMarketSavingsBillingAndOffersAnswerTyped(t *testing.T) {
	client := liveClient(t)
	ctx := context.Background()
	if _, err := client.Market.PricesWithContext(ctx, "RTX 4090", ""); err != nil {
		t.Fatal(err)
	}
	history, err := client.Market.HistoryWithContext(ctx, &PriceHistoryInput{GPUType: "RTX 4090", Period: "24h"})
	if err != nil || history.GPUType != "RTX_4090" || history.Period != "24h" {
		t.Fatalf("history %+v, %v", history, err)
	}
	forecast, err := client.Market.PredictionsWithContext(ctx, "RTX 4090", "")
	if err != nil || forecast.GPUType != "RTX_4090" || forecast.Recommendation == "" {
		t.Fatalf("forecast %+v, %v", forecast, err)
	}
	summary, err := client.Savings.SummaryWithContext(ctx, PeriodMonth)
	// The period is answered as the month it is ("2026-12"), from its first day to today.
	if err != nil || !strings.HasPrefix(summary.FirstDay, summary.Period) || summary.LastDay < summary.FirstDay {
		t.Fatalf("summary %+v, %v", summary, err)
	}
	if months, err := client.Savings.HistoryWithContext(ctx, 2); err != nil || len(months.History) != 2 {
		t.Fatalf("savings history %+v, %v", months, err)
	}
	if breakdown, err := client.Savings.BreakdownWithContext(ctx, PeriodYear); err != nil || breakdown.Period == "" {
		t.Fatalf("breakdown %+v, %v", breakdown, err)
	}
	if comparison, err := client.Savings.ComparisonWithContext(ctx, "RTX 4090"); err != nil || comparison.GPUType != "RTX_4090" {
		t.Fatalf("comparison %+v, %v", comparison, err)
	}
	offers, err := client.Offers.OfGPUWithContext(ctx, "RTX 4090", &SearchOffersInput{ListOptions: ListOptions{PerPage: 3}})
	if err != nil || len(offers.Data) == 0 || offers.Data[0].GPUType != "RTX_4090" || offers.Data[0].PricePerHour <= 0 {
		t.Fatalf("offers %+v, %v", offers, err)
	}
	receipt, err := client.Billing.AddCreditsWithContext(ctx, 1.25)
	if err != nil || receipt.Status != "confirmed" || receipt.Balance == nil {
		t.Fatalf("receipt %+v, %v", receipt, err)
	}
	lines, err := client.Billing.HistoryAllWithContext(ctx, &BillingHistoryInput{ListOptions: ListOptions{PerPage: 5}})
	if err != nil {
		t.Fatal(err)
	}
	credited := false
	for _, line := range lines {
		credited = credited || (line.Kind == "credit" && line.PaymentID != nil && *line.PaymentID == receipt.PaymentID)
	}
	if !credited {
		t.Fatalf("the payment %s is not in the %d lines of the history", receipt.PaymentID, len(lines))
	}
}

func TestLiveARoleATeamAndAnAccountKeyAreMade(t *testing.T) {
	client := liveClient(t)
	ctx := context.Background()
	name := fmt.Sprintf("go-sdk-%d", time.Now().UnixNano()%1_000_000_000)
	role, err := client.Roles.CreateWithContext(ctx, &CreateRoleInput{Name: name, Permissions: []string{"instances.view"}})
	if err != nil || role.Name != name || role.System {
		t.Fatalf("role %+v, %v", role, err)
	}
	roles, err := client.Roles.ListWithContext(ctx)
	if err != nil || len(roles) < 4 {
		t.Fatalf("roles %+v, %v", roles, err)
	}
	team, err := client.Teams.CreateWithContext(ctx, "Go SDK "+name)
	if err != nil || team.Role != "admin" {
		t.Fatalf("team %+v, %v", team, err)
	}
	detail, err := client.Teams.GetWithContext(ctx, team.ID)
	if err != nil || len(detail.Members) != 1 || detail.Members[0].Role != "admin" {
		t.Fatalf("team %+v, %v", detail, err)
	}
	if members, err := client.Teams.MembersWithContext(ctx, team.ID); err != nil || len(members) != 1 {
		t.Fatalf("members %+v, %v", members, err)
	}
	key, err := client.SSHKeys.AddWithContext(ctx, newPublicKey(t), name)
	if err != nil || key.Name != name || key.Fingerprint == "" {
		t.Fatalf("key %+v, %v", key, err)
	}
	if _, err := client.SSHKeys.RemoveWithContext(ctx, key.ID); err != nil {
		t.Fatal(err)
	}
	keys, err := client.SSHKeys.ListWithContext(ctx)
	for _, kept := range keys {
		if kept.ID == key.ID {
			t.Fatalf("a removed key is still listed: %+v", kept)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestLiveAWebhookIsChangedTestedAndRedelivered(t *testing.T) {
	client := liveClient(t)
	ctx := context.Background()
	webhook, err := client.Webhooks.CreateWithContext(ctx, &CreateWebhookInput{URL: "https://example.com/hook", Events: []string{"instance.created"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Webhooks.Delete(webhook.ID) })
	changed, err := client.Webhooks.UpdateWithContext(ctx, webhook.ID, &UpdateWebhookInput{Events: []string{"instance.created", "instance.deleted"}})
	if err != nil || len(changed.Events) != 2 || changed.URL != "https://example.com/hook" {
		t.Fatalf("changed %+v, %v", changed, err)
	}
	tested, err := client.Webhooks.TestWithContext(ctx, webhook.ID)
	if err != nil || tested.WebhookID != webhook.ID {
		t.Fatalf("tested %+v, %v", tested, err)
	}
	deliveries, err := client.Webhooks.DeliveriesWithContext(ctx, webhook.ID, 10)
	if err != nil || len(deliveries) == 0 || deliveries[0].ID != tested.ID {
		t.Fatalf("deliveries %+v, %v", deliveries, err)
	}
	again, err := client.Webhooks.RedeliverWithContext(ctx, webhook.ID, tested.ID)
	if err != nil || again.RedeliveryOf == nil || *again.RedeliveryOf != tested.ID {
		t.Fatalf("redelivered %+v, %v", again, err)
	}
}

func TestLiveARunningInstancesKeysFailoverAndServerlessAreSetAndItIsPausedAndResumed(t *testing.T) {
	client := liveClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 240*time.Second)
	defer cancel()
	created := liveRunningInstance(ctx, t, client)
	key, err := client.Instances.AddSSHKeyWithContext(ctx, created.ID, newPublicKey(t), "")
	if err != nil || key.Name != "go-sdk" {
		t.Fatalf("key %+v, %v", key, err)
	}
	if keys, err := client.Instances.SSHKeysWithContext(ctx, created.ID); err != nil || len(keys) == 0 {
		t.Fatalf("keys %+v, %v", keys, err)
	}
	if _, err := client.Instances.RemoveSSHKeyWithContext(ctx, created.ID, key.ID); err != nil {
		t.Fatal(err)
	}
	configured, err := client.Failover.ConfigureWithContext(ctx, &ConfigureFailoverInput{InstanceID: created.ID, Enabled: true, Strategy: FailoverSnapshot})
	if err != nil || !configured.Enabled || configured.Strategy == nil || *configured.Strategy != FailoverSnapshot {
		t.Fatalf("failover %+v, %v", configured, err)
	}
	enabled, err := client.Serverless.EnableWithContext(ctx, created.ID, 30, 0)
	if err != nil || !enabled.Enabled || *enabled.IdleTimeoutMinutes != 30 {
		t.Fatalf("serverless %+v, %v", enabled, err)
	}
	if disabled, err := client.Serverless.DisableWithContext(ctx, created.ID); err != nil || disabled.Enabled {
		t.Fatalf("serverless %+v, %v", disabled, err)
	}
	if events, err := client.Instances.EventsWithContext(ctx, created.ID); err != nil || len(events) == 0 {
		t.Fatalf("events %+v, %v", events, err)
	}
	if _, err := client.Instances.LogsWithContext(ctx, created.ID, &LogsInput{Lines: 5}); err != nil {
		t.Fatal(err)
	}
	// The machine's agent takes the hibernation's snapshot: wait until it has reported.
	waitForHeartbeat(ctx, t, client, created.ID)
	series, err := client.Instances.MetricsWithContext(ctx, created.ID, &MetricsInput{Period: "1h", Metrics: []string{"gpu_util"}})
	if err != nil || series.InstanceID != created.ID || series.Period != "1h" {
		t.Fatalf("metrics %+v, %v", series, err)
	}
	if _, err := client.Serverless.PauseWithContext(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	waitForStatus(ctx, t, client, created.ID, "hibernated")
	if _, err := client.Serverless.ResumeWithContext(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Instances.WaitUntilReady(ctx, created.ID, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
}
