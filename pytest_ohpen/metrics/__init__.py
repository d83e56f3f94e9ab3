"""The playbook's rollback metrics: compute (pure), render, publish."""
