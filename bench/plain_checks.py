"""The playbook's smoke checks as a plain boto3 script: what the plugin is compared with.

``python bench/plain_checks.py RESOURCES.json [--threads N]`` makes, for every resource
in the file, the calls the plugin's checks make (HeadBucket and ListObjectsV2 MaxKeys=1
per bucket, GetJob, DescribeStateMachine, GetFunctionConfiguration), with one client per
service shared by every thread, and judges the answers as the checks do. It prints one
JSON line (calls made, what failed) and exits 1 when any check failed. Only boto3: no
pytest, no plugin, so its figures are the floor a boto3 client can reach.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


def checks(spec: dict[str, Any], threads: int) -> list[tuple[str, Callable[[], None]]]:
    """One (name, call) per check of the resources in ``spec``."""
    config = Config(max_pool_connections=max(10, threads), retries={"mode": "standard"})
    session = boto3.session.Session(region_name=spec["region"])
    clients = {
        service: session.client(service, endpoint_url=spec["endpoint_url"], config=config)
        for service in ("s3", "glue", "stepfunctions", "lambda")
    }
    account, region = spec["account_id"], spec["region"]

    def bucket(name: str) -> None:
        clients["s3"].head_bucket(Bucket=name, ExpectedBucketOwner=account)
        clients["s3"].list_objects_v2(Bucket=name, MaxKeys=1, ExpectedBucketOwner=account)

    def job(name: str) -> None:
        clients["glue"].get_job(JobName=name)

    def state_machine(name: str) -> None:
        arn = f"arn:aws:states:{region}:{account}:stateMachine:{name}"
        status = clients["stepfunctions"].describe_state_machine(stateMachineArn=arn)["status"]
        assert status == "ACTIVE", f"status {status}"

    def function(name: str) -> None:
        config = clients["lambda"].get_function_configuration(FunctionName=name)
        assert config.get("State", "Active") == "Active", f"state {config.get('State')}"
        assert config.get("LastUpdateStatus") != "Failed", "last update failed"

    kinds = {"buckets": bucket, "glue_jobs": job, "state_machines": state_machine}
    kinds["lambdas"] = function
    resources = spec["resources"]
    return [
        (f"{kind} {name}", lambda check=check, name=name: check(name))
        for kind, check in kinds.items()
        for name in resources.get(kind, ())
    ]


def run_one(item: tuple[str, Callable[[], None]]) -> str | None:
    """The check's failure in one line, or None when it passed."""
    name, check = item
    try:
        check()
    except (ClientError, BotoCoreError, AssertionError) as error:
        return f"{name}: {error}"
    return None


def main(argv: list[str] | None = None) -> int:
    """Run every check, sequentially (``--threads 1``) or on a thread pool."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("resources", type=Path, help="JSON: endpoint_url, region, ...")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    todo = checks(json.loads(args.resources.read_text()), args.threads)
    if args.threads <= 1:
        failures = [run_one(item) for item in todo]
    else:
        with ThreadPoolExecutor(args.threads) as pool:
            failures = list(pool.map(run_one, todo))
    failed = [f for f in failures if f]
    print(json.dumps({"checks": len(todo), "failed": failed[:10], "failed_count": len(failed)}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
