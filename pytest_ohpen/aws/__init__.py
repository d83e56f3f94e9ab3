"""AWS clients with timeout profiles, the account guard, AWS error codes."""
