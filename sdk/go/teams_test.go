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
