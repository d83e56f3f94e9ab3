"""The playbook's rollback metrics, from the audit records to a report.

records (kinds, field readers, corrupt) -> attempts (attempt, attempts, triggers: every way
a rollback is applied) -> incidents (attempts grouped: one incident, one rollback) ->
deployments, recovery (MTTR from the failed deployment to green) -> figures (pure: window,
stats) -> targets (met, breached or no data) -> render / render_json (table, Markdown,
JSON), chart (PNG), publish and dashboard (CloudWatch). Every figure is defined in
docs/metrics.md. Nothing is re-exported here, so importing one step loads no other.
"""
