package dumont

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// Snapshot is a copy of an instance's workspace.
type Snapshot struct {
	ID           string     `json:"id"`
	InstanceID   string     `json:"instance_id"`
	Name         *string    `json:"name"`
	Status       string     `json:"status"`
	StatusReason *string    `json:"status_reason"`
	Compression  string     `json:"compression"`
	SizeBytes    *int64     `json:"size_bytes"`
	SizeGB       *float64   `json:"size_gb"`
	CreatedAt    time.Time  `json:"created_at"`
	CompletedAt  *time.Time `json:"completed_at"`
	// Purpose is manual, hibernate or checkpoint (failover's).
	Purpose string `json:"purpose"`
	// StoredBytes is what its chunks take compressed; UploadedBytes what this snapshot uploaded
	// (chunks already stored were reused).
	StoredBytes            *int64   `json:"stored_bytes"`
	UploadedBytes          *int64   `json:"uploaded_bytes"`
	CompressionRatio       *float64 `json:"compression_ratio"`
	UploadSpeedMBPerSecond *float64 `json:"upload_speed_mb_per_second"`
	FileCount              *int     `json:"file_count"`
}

// CreateSnapshotInput says which instance to snapshot.
type CreateSnapshotInput struct {
	InstanceID  string `json:"instance_id"`
	Name        string `json:"name,omitempty"`
	Compression string `json:"compression,omitempty"`
	// IdempotencyKey is sent as Idempotency-Key; a random one when empty.
	IdempotencyKey string `json:"-"`
}

// SnapshotsService takes, lists, restores and deletes snapshots.
type SnapshotsService struct{ client *Client }

func snapshotPath(id, action string) string {
	return "/api/v1/snapshots/" + url.PathEscape(id) + action
}

// Create starts a snapshot ("compressing").
func (s *SnapshotsService) Create(input *CreateSnapshotInput) (*Snapshot, error) {
	return s.CreateWithContext(context.Background(), input)
}

// CreateWithContext is Create with a context.
func (s *SnapshotsService) CreateWithContext(ctx context.Context, input *CreateSnapshotInput) (*Snapshot, error) {
	key := input.IdempotencyKey
	if key == "" {
		key = NewIdempotencyKey()
	}
	snapshot := &Snapshot{}
	req := request{method: "POST", path: "/api/v1/snapshots", body: input, idempotencyKey: key}
	return snapshot, s.client.call(ctx, req, snapshot)
}

// Get reads one snapshot.
func (s *SnapshotsService) Get(id string) (*Snapshot, error) {
	return s.GetWithContext(context.Background(), id)
}

// GetWithContext is Get with a context.
func (s *SnapshotsService) GetWithContext(ctx context.Context, id string) (*Snapshot, error) {
	snapshot := &Snapshot{}
	return snapshot, s.client.call(ctx, request{method: "GET", path: snapshotPath(id, "")}, snapshot)
}

// ListAll reads every snapshot of the team, or of one instance when instanceID is not empty.
func (s *SnapshotsService) ListAll(instanceID string) ([]Snapshot, error) {
	return s.ListAllWithContext(context.Background(), instanceID)
}

// ListAllWithContext is ListAll with a context.
func (s *SnapshotsService) ListAllWithContext(ctx context.Context, instanceID string) ([]Snapshot, error) {
	query := url.Values{}
	if instanceID != "" {
		query.Set("instance_id", instanceID)
	}
	return listAll[Snapshot](ctx, s.client, "/api/v1/snapshots", query)
}

// Delete deletes a snapshot.
func (s *SnapshotsService) Delete(id string) error {
	return s.DeleteWithContext(context.Background(), id)
}

// DeleteWithContext is Delete with a context.
func (s *SnapshotsService) DeleteWithContext(ctx context.Context, id string) error {
	return s.client.call(ctx, request{method: "DELETE", path: snapshotPath(id, "")}, nil)
}

// Restore restores a snapshot onto instanceID, a running instance of the team (the instance it was
// taken of when empty); the restore runs after the answer.
func (s *SnapshotsService) Restore(id, instanceID string) (*Snapshot, error) {
	return s.RestoreWithContext(context.Background(), id, instanceID)
}

// RestoreWithContext is Restore with a context.
func (s *SnapshotsService) RestoreWithContext(ctx context.Context, id, instanceID string) (*Snapshot, error) {
	body := map[string]string{}
	if instanceID != "" {
		body["instance_id"] = instanceID
	}
	snapshot := &Snapshot{}
	return snapshot, s.client.call(ctx, request{method: "POST", path: snapshotPath(id, "/restore"), body: body}, snapshot)
}

// WaitUntilComplete polls every interval until the snapshot is completed; a failed one is an error.
// The context bounds the wait.
func (s *SnapshotsService) WaitUntilComplete(ctx context.Context, id string, interval time.Duration) (*Snapshot, error) {
	for {
		snapshot, err := s.GetWithContext(ctx, id)
		if err != nil {
			return nil, err
		}
		if snapshot.Status == "completed" {
			return snapshot, nil
		}
		if snapshot.Status == "failed" {
			reason := "no reason given"
			if snapshot.StatusReason != nil {
				reason = *snapshot.StatusReason
			}
			return snapshot, &Error{Code: "SNAPSHOT_FAILED", Message: fmt.Sprintf("%s failed: %s", id, reason)}
		}
		select {
		case <-ctx.Done():
			return snapshot, &Error{Code: CodeTimeout, Message: fmt.Sprintf("%s still %s: %v", id, snapshot.Status, ctx.Err())}
		case <-time.After(interval):
		}
	}
}
