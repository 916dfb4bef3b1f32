package dumont

import (
	"context"
	"net/url"
	"time"
)

// Member is an account in a team, with its role there.
type Member struct {
	AccountID string    `json:"account_id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	JoinedAt  time.Time `json:"joined_at"`
}

// TeamDetail is a team with its members.
type TeamDetail struct {
	Team
	CreatedAt time.Time `json:"created_at"`
	Members   []Member  `json:"members"`
}

// PlanChange is what moving a team to a plan did; Changed is false when it was on it already.
type PlanChange struct {
	TeamID            string `json:"team_id"`
	Plan              string `json:"plan"`
	PreviousPlan      string `json:"previous_plan"`
	Changed           bool   `json:"changed"`
	RequestsPerMinute int    `json:"requests_per_minute"`
	// RequestsPerDay is nil when the plan has no daily cap.
	RequestsPerDay *int `json:"requests_per_day"`
	Members        int  `json:"members"`
}

// TeamsService makes teams and manages who is in them.
type TeamsService struct{ client *Client }

func teamPath(teamID, rest string) string { return "/api/v1/teams/" + url.PathEscape(teamID) + rest }

func memberPath(teamID, accountID string) string {
	return teamPath(teamID, "/members/"+url.PathEscape(accountID))
}

// List reads your teams and your role in each (as Account.Teams does).
func (s *TeamsService) List() ([]Team, error) {
	return s.ListWithContext(context.Background())
}

// ListWithContext is List with a context.
func (s *TeamsService) ListWithContext(ctx context.Context) ([]Team, error) {
	return s.client.Account.TeamsWithContext(ctx)
}

// Create makes a team; you are its admin.
func (s *TeamsService) Create(name string) (*Team, error) {
	return s.CreateWithContext(context.Background(), name)
}

// CreateWithContext is Create with a context.
func (s *TeamsService) CreateWithContext(ctx context.Context, name string) (*Team, error) {
	team := &Team{}
	req := request{method: "POST", path: "/api/v1/teams", body: map[string]string{"name": name}, idempotencyKey: NewIdempotencyKey()}
	return team, s.client.call(ctx, req, team)
}

// Get reads a team you are in, with its members.
func (s *TeamsService) Get(teamID string) (*TeamDetail, error) {
	return s.GetWithContext(context.Background(), teamID)
}

// GetWithContext is Get with a context.
func (s *TeamsService) GetWithContext(ctx context.Context, teamID string) (*TeamDetail, error) {
	team := &TeamDetail{}
	return team, s.client.call(ctx, request{method: "GET", path: teamPath(teamID, "")}, team)
}

// Members lists a team's members.
func (s *TeamsService) Members(teamID string) ([]Member, error) {
	return s.MembersWithContext(context.Background(), teamID)
}

// MembersWithContext is Members with a context.
func (s *TeamsService) MembersWithContext(ctx context.Context, teamID string) ([]Member, error) {
	var members []Member
	return members, s.client.call(ctx, request{method: "GET", path: teamPath(teamID, "/members")}, &members)
}

// AddMember adds a registered account by its email with role ("developer" when empty).
func (s *TeamsService) AddMember(teamID, email, role string) (*Member, error) {
	return s.AddMemberWithContext(context.Background(), teamID, email, role)
}

// AddMemberWithContext is AddMember with a context.
func (s *TeamsService) AddMemberWithContext(ctx context.Context, teamID, email, role string) (*Member, error) {
	body := map[string]string{"email": email}
	if role != "" {
		body["role"] = role
	}
	member := &Member{}
	req := request{method: "POST", path: teamPath(teamID, "/members"), body: body, idempotencyKey: NewIdempotencyKey()}
	return member, s.client.call(ctx, req, member)
}

// ChangeMemberRole gives a member another role.
func (s *TeamsService) ChangeMemberRole(teamID, accountID, role string) (*Member, error) {
	return s.ChangeMemberRoleWithContext(context.Background(), teamID, accountID, role)
}

// ChangeMemberRoleWithContext is ChangeMemberRole with a context.
func (s *TeamsService) ChangeMemberRoleWithContext(ctx context.Context, teamID, accountID, role string) (*Member, error) {
	member := &Member{}
	req := request{method: "PATCH", path: memberPath(teamID, accountID), body: map[string]string{"role": role}}
	return member, s.client.call(ctx, req, member)
}

// RemoveMember takes an account out of the team; the answer is the member as it was.
func (s *TeamsService) RemoveMember(teamID, accountID string) (*Member, error) {
	return s.RemoveMemberWithContext(context.Background(), teamID, accountID)
}

// RemoveMemberWithContext is RemoveMember with a context.
func (s *TeamsService) RemoveMemberWithContext(ctx context.Context, teamID, accountID string) (*Member, error) {
	member := &Member{}
	return member, s.client.call(ctx, request{method: "DELETE", path: memberPath(teamID, accountID)}, member)
}

// ChangePlan moves the team to a plan ("free", "pro" or "enterprise") and its members to its limits.
func (s *TeamsService) ChangePlan(teamID, plan string) (*PlanChange, error) {
	return s.ChangePlanWithContext(context.Background(), teamID, plan)
}

// ChangePlanWithContext is ChangePlan with a context.
func (s *TeamsService) ChangePlanWithContext(ctx context.Context, teamID, plan string) (*PlanChange, error) {
	change := &PlanChange{}
	req := request{method: "PATCH", path: teamPath(teamID, "/plan"), body: map[string]string{"plan": plan}}
	return change, s.client.call(ctx, req, change)
}
