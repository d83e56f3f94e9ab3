"""Post-deployment smoke checks (the playbook's list), run right after `terraform apply`:

    pytest suites/smoke --env prod

The test functions live in `pytest_ohpen.plugin.smoke_tests`, shared with suites/post_rollback.
"""

from pytest_ohpen.plugin.smoke_tests import (  # noqa: F401  (collected from here)
    test_bucket_accessible,
    test_glue_job_exists,
    test_lambda_active,
    test_lambda_invocable,
    test_state_machine_active,
)
