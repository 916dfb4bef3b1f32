package dumont

import "testing"

func TestARoleIsMadeWithItsPermissionsAndListedBesideTheSystemOnes(t *testing.T) {
	client, requests := fakeAPI(t,
		answer{201, `{"success": true, "data": {"name": "operator", "description": null, "permissions": ["instances.view", "instances.operate"], "system": false}}`, nil},
		answer{200, `{"success": true, "data": [{"name": "admin", "description": "Everything", "permissions": ["*"], "system": true},
			{"name": "operator", "description": null, "permissions": ["instances.view", "instances.operate"], "system": false}]}`, nil},
	)
	role, err := client.Roles.Create(&CreateRoleInput{Name: "operator", Permissions: []string{"instances.view", "instances.operate"}})
	if err != nil || role.Name != "operator" || role.System || len(role.Permissions) != 2 {
		t.Fatalf("role %+v, %v", role, err)
	}
	sent := (*requests)[0]
	if sent.method != "POST" || sent.path != "/api/v1/roles" || len(sent.body) != 2 || sent.body["name"] != "operator" {
		t.Fatalf("sent %s %s %v", sent.method, sent.path, sent.body)
	}
	roles, err := client.Roles.List()
	if err != nil || len(roles) != 2 || !roles[0].System || *roles[0].Description != "Everything" {
		t.Fatalf("roles %+v, %v", roles, err)
	}
}

func TestATeamIsMadeAndItsMembersAreAddedChangedAndRemoved(t *testing.T) {
	member := func(role string) answer {
		return answer{200, `{"success": true, "data": {"account_id": "acct_2", "email": "b@example.com", "role": "` + role + `", "joined_at": "2026-01-02T00:00:00Z"}}`, nil}
	}
	client, requests := fakeAPI(t,
		answer{201, `{"success": true, "data": {"id": "team_9", "name": "ML research", "plan": "free", "role": "admin", "current": false}}`, nil},
		member("viewer"), member("developer"), member("developer"),
		answer{200, `{"success": true, "data": {"id": "team_9", "name": "ML research", "plan": "free", "role": "admin", "current": false,
			"created_at": "2026-01-01T00:00:00Z", "members": [{"account_id": "acct_1", "email": "a@example.com", "role": "admin", "joined_at": "2026-01-01T00:00:00Z"}]}}`, nil},
	)
	team, err := client.Teams.Create("ML research")
	if err != nil || team.ID != "team_9" || team.Role != "admin" {
		t.Fatalf("team %+v, %v", team, err)
	}
	added, err := client.Teams.AddMember("team_9", "b@example.com", "viewer")
	if err != nil || added.AccountID != "acct_2" || added.Role != "viewer" {
		t.Fatalf("added %+v, %v", added, err)
	}
	changed, err := client.Teams.ChangeMemberRole("team_9", "acct_2", "developer")
	if err != nil || changed.Role != "developer" {
		t.Fatalf("changed %+v, %v", changed, err)
	}
	if _, err := client.Teams.RemoveMember("team_9", "acct_2"); err != nil {
		t.Fatal(err)
	}
	detail, err := client.Teams.Get("team_9")
	if err != nil || len(detail.Members) != 1 || detail.Members[0].Email != "a@example.com" || detail.Name != "ML research" {
		t.Fatalf("team %+v, %v", detail, err)
	}
	want := []string{"POST /api/v1/teams", "POST /api/v1/teams/team_9/members", "PATCH /api/v1/teams/team_9/members/acct_2",
		"DELETE /api/v1/teams/team_9/members/acct_2", "GET /api/v1/teams/team_9"}
	for i, got := range *requests {
		if got.method+" "+got.path != want[i] {
			t.Fatalf("request %d was %s %s, not %s", i, got.method, got.path, want[i])
		}
	}
	if body := (*requests)[1].body; body["email"] != "b@example.com" || body["role"] != "viewer" {
		t.Fatalf("added with %v", body)
	}
	if body := (*requests)[2].body; len(body) != 1 || body["role"] != "developer" {
		t.Fatalf("changed with %v", body)
	}
}

func TestATeamsMembersAreListedAndItsPlanChanged(t *testing.T) {
	client, requests := fakeAPI(t,
		answer{200, `{"success": true, "data": [{"account_id": "acct_1", "email": "a@example.com", "role": "admin", "joined_at": "2026-01-01T00:00:00Z"}]}`, nil},
		answer{200, `{"success": true, "data": {"team_id": "team_9", "plan": "enterprise", "previous_plan": "free", "changed": true,
			"requests_per_minute": 6000, "requests_per_day": null, "members": 1}}`, nil},
	)
	members, err := client.Teams.Members("team_9")
	if err != nil || len(members) != 1 || members[0].Role != "admin" {
		t.Fatalf("members %+v, %v", members, err)
	}
	change, err := client.Teams.ChangePlan("team_9", "enterprise")
	if err != nil || !change.Changed || change.PreviousPlan != "free" || change.RequestsPerDay != nil {
		t.Fatalf("change %+v, %v", change, err)
	}
	if sent := (*requests)[1]; sent.method != "PATCH" || sent.path != "/api/v1/teams/team_9/plan" || sent.body["plan"] != "enterprise" {
		t.Fatalf("sent %s %s %v", sent.method, sent.path, sent.body)
	}
}
