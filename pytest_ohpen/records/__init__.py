"""The append-only audit store, its record kinds, redaction and operator identity."""
