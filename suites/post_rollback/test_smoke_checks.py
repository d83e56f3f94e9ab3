"""Post-rollback, step 1: every smoke check again, from the same code (nothing copied)."""

from pytest_ohpen.plugin.smoke_tests import (  # noqa: F401  (collected from here)
    test_bucket_accessible,
    test_glue_job_exists,
    test_lambda_active,
    test_lambda_invocable,
    test_state_machine_active,
)
