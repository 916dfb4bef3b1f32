package dumont

import (
	"context"
	"net/url"
	"time"
)

// Failover strategies: how an instance comes back when its machine dies.
const (
	FailoverWarmPool   = "warmpool"
	FailoverCPUStandby = "cpu_standby"
	FailoverSnapshot   = "snapshot"
)

// Standby is the machine kept ready to take an instance over.
type Standby struct {
	Kind               string     `json:"kind"`
	Provider           string     `json:"provider"`
	MachineID          *string    `json:"machine_id"`
	State              string     `json:"state"`
	Region             *string    `json:"region"`
	IPAddress          *string    `json:"ip_address"`
	SSHPort            *int       `json:"ssh_port"`
	GPUName            *string    `json:"gpu_name"`
	CostPerHour        float64    `json:"cost_per_hour"`
	RunningCostPerHour *float64   `json:"running_cost_per_hour"`
	SyncedSnapshotID   *string    `json:"synced_snapshot_id"`
	SyncedAt           *time.Time `json:"synced_at"`
	Since              *time.Time `json:"since"`
}

// Failover is one time an instance was moved off a machine; Outcome is in_progress, completed or failed.
type Failover struct {
	StartedAt             time.Time  `json:"started_at"`
	EndedAt               *time.Time `json:"ended_at"`
	Reason                *string    `json:"reason"`
	Strategy              *string    `json:"strategy"`
	SnapshotID            *string    `json:"snapshot_id"`
	Outcome               string     `json:"outcome"`
	Failure               *string    `json:"failure"`
	DetectedAfterSeconds  *float64   `json:"detected_after_seconds"`
	RecoveredAfterSeconds *float64   `json:"recovered_after_seconds"`
	DataWindowSeconds     *float64   `json:"data_window_seconds"`
}

// FailoverStatus is where failover stands for an instance: its settings, its standby, what data a
// failure now would lose, and the failovers so far.
type FailoverStatus struct {
	InstanceID                string   `json:"instance_id"`
	Enabled                   bool     `json:"enabled"`
	Strategy                  *string  `json:"strategy"`
	CheckpointIntervalMinutes *float64 `json:"checkpoint_interval_minutes"`
	Status                    string   `json:"status"`
	// RunningOn is gpu, cpu_standby or gpu_standby.
	RunningOn         *string    `json:"running_on"`
	LastCheckpointID  *string    `json:"last_checkpoint_id"`
	LastCheckpointAt  *time.Time `json:"last_checkpoint_at"`
	DataAtRiskSeconds *float64   `json:"data_at_risk_seconds"`
	DataAtRiskBytes   *int64     `json:"data_at_risk_bytes"`
	LastFailover      *time.Time `json:"last_failover"`
	Standby           *Standby   `json:"standby"`
	History           []Failover `json:"history"`
}

// ConfigureFailoverInput turns failover on or off for an instance; empty fields keep the settings.
type ConfigureFailoverInput struct {
	InstanceID string `json:"instance_id"`
	Enabled    bool   `json:"enabled"`
	// Strategy is FailoverWarmPool, FailoverCPUStandby or FailoverSnapshot.
	Strategy                  string  `json:"strategy,omitempty"`
	CheckpointIntervalMinutes float64 `json:"checkpoint_interval_minutes,omitempty"`
}

// FailoverService reads and sets failover, and moves an instance off its machine on demand.
type FailoverService struct{ client *Client }

// Configure sets how an instance fails over.
func (s *FailoverService) Configure(input *ConfigureFailoverInput) (*FailoverStatus, error) {
	return s.ConfigureWithContext(context.Background(), input)
}

// ConfigureWithContext is Configure with a context.
func (s *FailoverService) ConfigureWithContext(ctx context.Context, input *ConfigureFailoverInput) (*FailoverStatus, error) {
	status := &FailoverStatus{}
	return status, s.client.call(ctx, request{method: "POST", path: "/api/v1/failover/configure", body: input}, status)
}

// Status reads where failover stands for an instance.
func (s *FailoverService) Status(instanceID string) (*FailoverStatus, error) {
	return s.StatusWithContext(context.Background(), instanceID)
}

// StatusWithContext is Status with a context.
func (s *FailoverService) StatusWithContext(ctx context.Context, instanceID string) (*FailoverStatus, error) {
	status := &FailoverStatus{}
	path := "/api/v1/failover/status/" + url.PathEscape(instanceID)
	return status, s.client.call(ctx, request{method: "GET", path: path}, status)
}

// Trigger fails an instance over now, as a drill; the failover runs after the answer.
func (s *FailoverService) Trigger(instanceID string) (*FailoverStatus, error) {
	return s.TriggerWithContext(context.Background(), instanceID)
}

// TriggerWithContext is Trigger with a context.
func (s *FailoverService) TriggerWithContext(ctx context.Context, instanceID string) (*FailoverStatus, error) {
	status := &FailoverStatus{}
	path := "/api/v1/failover/trigger/" + url.PathEscape(instanceID)
	return status, s.client.call(ctx, request{method: "POST", path: path}, status)
}
