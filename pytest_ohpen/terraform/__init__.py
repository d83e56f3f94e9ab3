"""Terraform state versions, the one target choice, locks, restore, the binary, plan review."""
