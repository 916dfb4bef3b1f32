package dumont

import "context"

// Role is a set of permissions a team member can be given; System roles (admin, developer,
// viewer) are the same in every team and cannot be changed.
type Role struct {
	Name        string   `json:"name"`
	Description *string  `json:"description"`
	Permissions []string `json:"permissions"`
	System      bool     `json:"system"`
}

// CreateRoleInput names a role of the team and what it may do (e.g. "instances.view").
type CreateRoleInput struct {
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
	Description string   `json:"description,omitempty"`
}

// RolesService lists the team's roles and makes new ones.
type RolesService struct{ client *Client }

// List reads the system roles and the team's own.
func (s *RolesService) List() ([]Role, error) {
	return s.ListWithContext(context.Background())
}

// ListWithContext is List with a context.
func (s *RolesService) ListWithContext(ctx context.Context) ([]Role, error) {
	var roles []Role
	return roles, s.client.call(ctx, request{method: "GET", path: "/api/v1/roles"}, &roles)
}

// Create makes a role of the team.
func (s *RolesService) Create(input *CreateRoleInput) (*Role, error) {
	return s.CreateWithContext(context.Background(), input)
}

// CreateWithContext is Create with a context.
func (s *RolesService) CreateWithContext(ctx context.Context, input *CreateRoleInput) (*Role, error) {
	role := &Role{}
	req := request{method: "POST", path: "/api/v1/roles", body: input, idempotencyKey: NewIdempotencyKey()}
	return role, s.client.call(ctx, req, role)
}
