"""Terraform changes of an environment's stack to the code at a git ref: ``ohpen deploy``
and the steps it shares with the rollback (:mod:`pytest_ohpen.deploy.at_ref`)."""
