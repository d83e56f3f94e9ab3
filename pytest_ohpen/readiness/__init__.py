"""Rollback readiness: gather facts (read-only I/O), decide a verdict (pure), report it.

``facts`` holds plain data, ``decide`` turns facts into READY / BLOCKED / NOT_NEEDED
with every reason, ``gather`` asks AWS, git and the audit store, ``report`` renders
JSON and Markdown. Deciding never touches I/O, so it is tested without an emulator.
"""
