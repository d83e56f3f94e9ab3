"""Post-deployment smoke checks, run right after `terraform apply`:

    pytest suites/smoke --env prod

The playbook's list (each resource exists and answers) and every failure its "When Rollback
Is Needed" names that a few calls can show: a Glue job that cannot run, a role IAM denies
what it needs, a state machine naming what is not there, a breaking table schema, Lambda
errors since the deploy, a too-broad policy, encryption not as configured. The test
functions live in `pytest_ohpen.plugin.smoke_tests`, shared with suites/post_rollback.
"""

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
