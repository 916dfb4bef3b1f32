package dumont

import (
	"context"
	"net/url"
	"time"
)

// ServerlessStatus is where serverless mode stands for an instance. State is active, idle,
// hibernating, hibernated or waking; nil while serverless mode is off.
type ServerlessStatus struct {
	InstanceID         string   `json:"instance_id"`
	Enabled            bool     `json:"enabled"`
	IdleTimeoutMinutes *float64 `json:"idle_timeout_minutes"`
	// GPUThreshold is the GPU utilisation (%) under which the machine is idle.
	GPUThreshold   *float64   `json:"gpu_threshold"`
	State          *string    `json:"state"`
	GPUUtilization *float64   `json:"gpu_utilization"`
	LastHeartbeat  *time.Time `json:"last_heartbeat"`
}

// ServerlessService hibernates an instance by itself when its GPU stays idle.
type ServerlessService struct{ client *Client }

func (s *ServerlessService) post(ctx context.Context, path string, body any) (*ServerlessStatus, error) {
	status := &ServerlessStatus{}
	return status, s.client.call(ctx, request{method: "POST", path: path, body: body}, status)
}

// Enable turns serverless mode on; zero values keep the defaults (15 minutes under 5%).
func (s *ServerlessService) Enable(instanceID string, idleTimeoutMinutes, gpuThreshold float64) (*ServerlessStatus, error) {
	return s.EnableWithContext(context.Background(), instanceID, idleTimeoutMinutes, gpuThreshold)
}

// EnableWithContext is Enable with a context.
func (s *ServerlessService) EnableWithContext(ctx context.Context, instanceID string, idleTimeoutMinutes, gpuThreshold float64) (*ServerlessStatus, error) {
	body := map[string]any{"instance_id": instanceID}
	if idleTimeoutMinutes > 0 {
		body["idle_timeout_minutes"] = idleTimeoutMinutes
	}
	if gpuThreshold > 0 {
		body["gpu_threshold"] = gpuThreshold
	}
	return s.post(ctx, "/api/v1/serverless/enable", body)
}

// Disable turns serverless mode off: the instance is no longer hibernated when idle.
func (s *ServerlessService) Disable(instanceID string) (*ServerlessStatus, error) {
	return s.DisableWithContext(context.Background(), instanceID)
}

// DisableWithContext is Disable with a context.
func (s *ServerlessService) DisableWithContext(ctx context.Context, instanceID string) (*ServerlessStatus, error) {
	return s.post(ctx, "/api/v1/serverless/disable", map[string]string{"instance_id": instanceID})
}

// Pause hibernates the instance now, without waiting for it to be idle.
func (s *ServerlessService) Pause(instanceID string) (*ServerlessStatus, error) {
	return s.PauseWithContext(context.Background(), instanceID)
}

// PauseWithContext is Pause with a context.
func (s *ServerlessService) PauseWithContext(ctx context.Context, instanceID string) (*ServerlessStatus, error) {
	return s.post(ctx, "/api/v1/serverless/pause/"+url.PathEscape(instanceID), nil)
}

// Resume wakes a paused (hibernated) instance.
func (s *ServerlessService) Resume(instanceID string) (*ServerlessStatus, error) {
	return s.ResumeWithContext(context.Background(), instanceID)
}

// ResumeWithContext is Resume with a context.
func (s *ServerlessService) ResumeWithContext(ctx context.Context, instanceID string) (*ServerlessStatus, error) {
	return s.post(ctx, "/api/v1/serverless/resume/"+url.PathEscape(instanceID), nil)
}

// Status reads where serverless mode stands for an instance.
func (s *ServerlessService) Status(instanceID string) (*ServerlessStatus, error) {
	return s.StatusWithContext(context.Background(), instanceID)
}

// StatusWithContext is Status with a context.
func (s *ServerlessService) StatusWithContext(ctx context.Context, instanceID string) (*ServerlessStatus, error) {
	status := &ServerlessStatus{}
	path := "/api/v1/serverless/status/" + url.PathEscape(instanceID)
	return status, s.client.call(ctx, request{method: "GET", path: path}, status)
}
