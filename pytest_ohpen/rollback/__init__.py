"""The rollback: trigger, re-apply of a git revision, data pointer, incident, drill, hand-off."""
