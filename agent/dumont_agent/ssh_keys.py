"""The instance's SSH keys in the machine's `authorized_keys`, in a block of their own: lines outside
it (the provider's keys, the user's own) are never touched."""

from __future__ import annotations

from pathlib import Path

BEGIN = "# >>> dumont: keys of the instance (managed; edits inside are replaced)"
END = "# <<< dumont"


def managed_block(keys: list[str]) -> list[str]:
    return [BEGIN, *(key.strip() for key in keys if key.strip()), END]


def install_keys(authorized_keys: Path, keys: list[str]) -> None:
    """Make the managed block of `authorized_keys` hold exactly `keys`, replacing the file atomically
    with the permissions sshd insists on."""
    try:
        lines = authorized_keys.read_text().splitlines()
    except FileNotFoundError:
        lines = []
    kept: list[str] = []
    inside = False
    for line in lines:
        if line == BEGIN:
            inside = True
        elif line == END and inside:
            inside = False
        elif not inside:
            kept.append(line)
    authorized_keys.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = authorized_keys.with_name(authorized_keys.name + ".partial")
    partial.write_text("\n".join([*kept, *managed_block(keys)]) + "\n")
    partial.chmod(0o600)
    partial.replace(authorized_keys)
