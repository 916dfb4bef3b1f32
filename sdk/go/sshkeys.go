package dumont

import (
	"context"
	"net/url"
	"time"
)

// SSHKey is a public key that may log in: to one instance's machines, or (an account's key) to every
// instance you create from the time it was added.
type SSHKey struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Fingerprint is as `ssh-keygen -l` prints it.
	Fingerprint string    `json:"fingerprint"`
	PublicKey   string    `json:"public_key"`
	AddedAt     time.Time `json:"added_at"`
}

// sshKeyBody is one line of a .pub file, and a name (the key's comment when empty).
func sshKeyBody(publicKey, name string) map[string]string {
	body := map[string]string{"public_key": publicKey}
	if name != "" {
		body["name"] = name
	}
	return body
}

// SSHKeysService manages your account's keys: every instance you create, in any of your teams,
// starts with them. Instances that exist already are left as they are.
type SSHKeysService struct{ client *Client }

func accountKeyPath(keyID string) string { return "/api/v1/ssh-keys/" + url.PathEscape(keyID) }

// List reads your account's keys.
func (s *SSHKeysService) List() ([]SSHKey, error) {
	return s.ListWithContext(context.Background())
}

// ListWithContext is List with a context.
func (s *SSHKeysService) ListWithContext(ctx context.Context) ([]SSHKey, error) {
	var keys []SSHKey
	return keys, s.client.call(ctx, request{method: "GET", path: "/api/v1/ssh-keys"}, &keys)
}

// Add adds a key to your account; a key it has already is a 409.
func (s *SSHKeysService) Add(publicKey, name string) (*SSHKey, error) {
	return s.AddWithContext(context.Background(), publicKey, name)
}

// AddWithContext is Add with a context.
func (s *SSHKeysService) AddWithContext(ctx context.Context, publicKey, name string) (*SSHKey, error) {
	key := &SSHKey{}
	req := request{method: "POST", path: "/api/v1/ssh-keys", body: sshKeyBody(publicKey, name), idempotencyKey: NewIdempotencyKey()}
	return key, s.client.call(ctx, req, key)
}

// Remove takes a key out of your account; instances that have it keep it until it is removed from them.
func (s *SSHKeysService) Remove(keyID string) (*SSHKey, error) {
	return s.RemoveWithContext(context.Background(), keyID)
}

// RemoveWithContext is Remove with a context.
func (s *SSHKeysService) RemoveWithContext(ctx context.Context, keyID string) (*SSHKey, error) {
	key := &SSHKey{}
	return key, s.client.call(ctx, request{method: "DELETE", path: accountKeyPath(keyID)}, key)
}

// SSHKeys lists the keys that may log in to an instance.
func (s *InstancesService) SSHKeys(id string) ([]SSHKey, error) {
	return s.SSHKeysWithContext(context.Background(), id)
}

// SSHKeysWithContext is SSHKeys with a context.
func (s *InstancesService) SSHKeysWithContext(ctx context.Context, id string) ([]SSHKey, error) {
	var keys []SSHKey
	return keys, s.client.call(ctx, request{method: "GET", path: instancePath(id, "/ssh-keys")}, &keys)
}

// AddSSHKey authorizes a key on an instance: installed on its running machine within a heartbeat,
// and on every machine it runs on later. A key it has already is a 409.
func (s *InstancesService) AddSSHKey(id, publicKey, name string) (*SSHKey, error) {
	return s.AddSSHKeyWithContext(context.Background(), id, publicKey, name)
}

// AddSSHKeyWithContext is AddSSHKey with a context.
func (s *InstancesService) AddSSHKeyWithContext(ctx context.Context, id, publicKey, name string) (*SSHKey, error) {
	key := &SSHKey{}
	req := request{method: "POST", path: instancePath(id, "/ssh-keys"), body: sshKeyBody(publicKey, name), idempotencyKey: NewIdempotencyKey()}
	return key, s.client.call(ctx, req, key)
}

// RemoveSSHKey takes a key off an instance; its running machine drops it within a heartbeat.
func (s *InstancesService) RemoveSSHKey(id, keyID string) (*SSHKey, error) {
	return s.RemoveSSHKeyWithContext(context.Background(), id, keyID)
}

// RemoveSSHKeyWithContext is RemoveSSHKey with a context.
func (s *InstancesService) RemoveSSHKeyWithContext(ctx context.Context, id, keyID string) (*SSHKey, error) {
	key := &SSHKey{}
	return key, s.client.call(ctx, request{method: "DELETE", path: instancePath(id, "/ssh-keys/"+url.PathEscape(keyID))}, key)
}
