package dumont

import "testing"

const sshKeyBodyJSON = `{"id": "key_1", "name": "laptop", "fingerprint": "SHA256:abc", "public_key": "ssh-ed25519 AAAA laptop", "added_at": "2026-12-01T00:00:00Z"}`

func TestAnInstancesSSHKeysAreAddedListedAndRemoved(t *testing.T) {
	client, requests := fakeAPI(t,
		answer{201, `{"success": true, "data": ` + sshKeyBodyJSON + `}`, nil},
		answer{200, `{"success": true, "data": [` + sshKeyBodyJSON + `]}`, nil},
		answer{200, `{"success": true, "data": ` + sshKeyBodyJSON + `}`, nil},
	)
	added, err := client.Instances.AddSSHKey("inst_1", "ssh-ed25519 AAAA laptop", "")
	if err != nil || added.ID != "key_1" || added.Fingerprint != "SHA256:abc" {
		t.Fatalf("added %+v, %v", added, err)
	}
	keys, err := client.Instances.SSHKeys("inst_1")
	if err != nil || len(keys) != 1 || keys[0].Name != "laptop" {
		t.Fatalf("keys %+v, %v", keys, err)
	}
	if _, err := client.Instances.RemoveSSHKey("inst_1", "key_1"); err != nil {
		t.Fatal(err)
	}
	want := []string{"POST /api/v1/instances/inst_1/ssh-keys", "GET /api/v1/instances/inst_1/ssh-keys", "DELETE /api/v1/instances/inst_1/ssh-keys/key_1"}
	for i, got := range *requests {
		if got.method+" "+got.path != want[i] {
			t.Fatalf("request %d was %s %s, not %s", i, got.method, got.path, want[i])
		}
	}
	if body := (*requests)[0].body; len(body) != 1 || body["public_key"] != "ssh-ed25519 AAAA laptop" {
		t.Fatalf("added with %v", body)
	}
}

func TestTheAccountsSSHKeysAreAddedWithANameListedAndRemoved(t *testing.T) {
	client, requests := fakeAPI(t,
		answer{201, `{"success": true, "data": ` + sshKeyBodyJSON + `}`, nil},
		answer{200, `{"success": true, "data": [` + sshKeyBodyJSON + `]}`, nil},
		answer{200, `{"success": true, "data": ` + sshKeyBodyJSON + `}`, nil},
	)
	if _, err := client.SSHKeys.Add("ssh-ed25519 AAAA", "laptop"); err != nil {
		t.Fatal(err)
	}
	keys, err := client.SSHKeys.List()
	if err != nil || len(keys) != 1 || keys[0].PublicKey != "ssh-ed25519 AAAA laptop" {
		t.Fatalf("keys %+v, %v", keys, err)
	}
	if _, err := client.SSHKeys.Remove("key_1"); err != nil {
		t.Fatal(err)
	}
	want := []string{"POST /api/v1/ssh-keys", "GET /api/v1/ssh-keys", "DELETE /api/v1/ssh-keys/key_1"}
	for i, got := range *requests {
		if got.method+" "+got.path != want[i] {
			t.Fatalf("request %d was %s %s, not %s", i, got.method, got.path, want[i])
		}
	}
	if body := (*requests)[0].body; body["name"] != "laptop" || body["public_key"] != "ssh-ed25519 AAAA" {
		t.Fatalf("added with %v", body)
	}
}
