"""Post-rollback, step 1: every smoke and bake check again, from the same code (nothing copied)."""

from pytest_ohpen.plugin.bake_tests import (  # noqa: F401  (collected from here)
    test_alarm_quiet_during_bake,
    test_glue_job_duration,
    test_state_machine_duration,
)
from pytest_ohpen.plugin.smoke_tests import (  # noqa: F401  (collected from here)
    test_bucket_accessible,
    test_bucket_encryption,
    test_glue_job_executable,
    test_glue_job_exists,
    test_lambda_active,
    test_lambda_invocable,
    test_lambda_no_errors_since_deploy,
    test_role_can_do_its_job,
    test_role_least_privilege,
    test_state_machine_active,
    test_state_machine_references_exist,
    test_table_schema_compatible,
)
