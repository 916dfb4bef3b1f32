package dumont

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// liveClient calls the API that DUMONT_API_URL and DUMONT_API_KEY point at (the local stack in the
// e2e tests); the test is skipped when they are not set.
func liveClient(t *testing.T) *Client {
	t.Helper()
	if os.Getenv("DUMONT_API_URL") == "" || os.Getenv("DUMONT_API_KEY") == "" {
		t.Skip("DUMONT_API_URL and DUMONT_API_KEY are not set")
	}
	return NewClient("")
}

func TestLiveAnInstanceIsCreatedRunsIsListedAndIsDestroyed(t *testing.T) {
	client := liveClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	created, err := client.Instances.CreateWithContext(ctx, &CreateInstanceInput{GPUType: "RTX 4090", Region: "US-East", DiskGB: 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = client.Instances.Delete(created.ID) })
	running, err := client.Instances.WaitUntilReady(ctx, created.ID, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if running.GPUType != "RTX_4090" || running.Region == nil || *running.Region != "us-east" || running.DiskGB != 20 {
		t.Fatalf("running %+v", running)
	}
	all, err := client.Instances.ListAllWithContext(ctx, &ListInstancesInput{ListOptions: ListOptions{PerPage: 1}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, instance := range all {
		found = found || instance.ID == created.ID
	}
	if !found {
		t.Fatalf("%s not among %d instances listed", created.ID, len(all))
	}
	deleting, err := client.Instances.DeleteWithContext(ctx, created.ID)
	if err != nil || (deleting.Status != "deleting" && deleting.Status != "deleted") {
		t.Fatalf("deleting %+v, %v", deleting, err)
	}
}

func TestLiveARetriedCreateWithOneIdempotencyKeyRentsOneMachine(t *testing.T) {
	client := liveClient(t)
	input := &CreateInstanceInput{GPUType: "RTX_4090", IdempotencyKey: fmt.Sprintf("sdk-go-%d", time.Now().UnixNano())}
	first, err := client.Instances.Create(input)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = client.Instances.Delete(first.ID) })
	second, err := client.Instances.Create(input)
	if err != nil || second.ID != first.ID {
		t.Fatalf("the retry gave %+v, %v; the first %s", second, err, first.ID)
	}
}

func TestLiveRefusalsAreTypedErrors(t *testing.T) {
	client := liveClient(t)
	if _, err := client.Instances.Get("inst_0000000000000000"); !IsNotFound(err) {
		t.Fatalf("an unknown instance gave %v", err)
	}
	_, err := client.Instances.Create(&CreateInstanceInput{GPUType: "Voodoo 2"})
	if !IsValidation(err) {
		t.Fatalf("an unknown GPU gave %v", err)
	}
	fields, _ := asError(err).Details["fields"].([]any)
	if len(fields) != 1 || fields[0].(map[string]any)["field"] != "gpu_type" {
		t.Fatalf("the error does not name gpu_type: %+v", asError(err).Details)
	}
	stranger := NewClient("dumont_sk_"+fmt.Sprintf("%088d", 0), WithBaseURL(client.BaseURL()))
	if _, err := stranger.Instances.List(nil); !IsUnauthenticated(err) {
		t.Fatalf("a wrong key gave %v", err)
	}
}

func TestLiveTheAccountAnswers(t *testing.T) {
	client := liveClient(t)
	ctx := context.Background()
	if _, err := client.Billing.BalanceWithContext(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Savings.GetDashboardWithContext(ctx); err != nil {
		t.Fatal(err)
	}
	teams, err := client.Account.TeamsWithContext(ctx)
	if err != nil || len(teams) == 0 {
		t.Fatalf("teams %v, %v", teams, err)
	}
	webhook, err := client.Webhooks.Create(&CreateWebhookInput{URL: "https://example.com/hook", Events: []string{"instance.created"}})
	if err != nil || webhook.Secret == "" {
		t.Fatalf("webhook %+v, %v", webhook, err)
	}
	if err := client.Webhooks.DeleteWithContext(ctx, webhook.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Webhooks.GetWithContext(ctx, webhook.ID); !IsNotFound(err) {
		t.Fatalf("a deleted webhook gave %v", err)
	}
}

func TestLiveARunningInstanceIsSnapshottedStoppedAndStartedAgain(t *testing.T) {
	client := liveClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	created := liveRunningInstance(ctx, t, client)
	if _, err := client.Instances.StartWithContext(ctx, created.ID); !IsInvalidState(err) {
		t.Fatalf("starting a running instance gave %v", err)
	}
	// The machine's agent takes the snapshot: wait until it has reported.
	waitForHeartbeat(ctx, t, client, created.ID)
	snapshot, err := client.Snapshots.CreateWithContext(ctx, &CreateSnapshotInput{InstanceID: created.ID, Name: "from the go sdk"})
	if err != nil {
		t.Fatal(err)
	}
	completed, err := client.Snapshots.WaitUntilComplete(ctx, snapshot.ID, 200*time.Millisecond)
	if err != nil || completed.InstanceID != created.ID || completed.SizeGB == nil {
		t.Fatalf("snapshot %+v, %v", completed, err)
	}
	if _, err := client.Instances.StopWithContext(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	for {
		instance, err := client.Instances.GetWithContext(ctx, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		if instance.Status == "stopped" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := client.Instances.StartWithContext(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Instances.WaitUntilReady(ctx, created.ID, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
}

// liveRunningInstance creates an RTX 4090 instance, deleted when the test ends, and waits until it runs.
func liveRunningInstance(ctx context.Context, t *testing.T, client *Client) *CreatedInstance {
	t.Helper()
	created, err := client.Instances.CreateWithContext(ctx, &CreateInstanceInput{GPUType: "RTX 4090"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = client.Instances.Delete(created.ID) })
	if _, err := client.Instances.WaitUntilReady(ctx, created.ID, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	return created
}

// waitForHeartbeat waits until the instance's agent has reported once.
func waitForHeartbeat(ctx context.Context, t *testing.T, client *Client, instanceID string) {
	t.Helper()
	for {
		status, err := client.Serverless.StatusWithContext(ctx, instanceID)
		if err != nil {
			t.Fatal(err)
		}
		if status.LastHeartbeat != nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}
