"""The bake: the checks that need time after a deploy, run after suites/smoke and before
the rollback decision (the CD workflow's bake step):

    pytest suites/bake --env prod [--bake-minutes 10]

The alarms are watched for the bake window (`bake_minutes`, like CloudFormation's rollback
triggers' monitoring time), and each Glue job's and state machine's newest run is compared
with the median of the runs before it (`duration_regression_factor`). The test functions
live in `pytest_ohpen.plugin.bake_tests`, shared with suites/post_rollback.
"""

from pytest_ohpen.plugin.bake_tests import (  # noqa: F401  (collected from here)
    test_alarm_quiet_during_bake,
    test_glue_job_duration,
    test_state_machine_duration,
)
