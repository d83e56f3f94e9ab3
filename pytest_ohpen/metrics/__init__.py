"""The playbook's rollback metrics, from the audit records to a report.

records (audit records as typed Rollback/Drill) -> figures (pure: windows, stats) ->
targets (met or breached) -> render (table, JSON, Markdown), chart (PNG), publish
(CloudWatch). Nothing is re-exported here, so importing one step loads no other.
"""
