"""The scale benchmark's account: its own moto server process, provisioned with N healthy
resources over the four kinds the smoke checks read.

The server is a separate process (``python -m moto.server``) so its CPU and memory are
not counted as the client's. Provisioning talks to moto directly, not through the latency
proxy: it is set-up, not what is measured. "Healthy" means what the plugin's checks would
ask of a real deployment: buckets versioned, AES256-encrypted and public access blocked;
Glue jobs whose role trusts glue.amazonaws.com and whose script object exists; state
machines whose definitions name an existing job and function; Lambdas created in moto's
stub mode (no docker).
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "eu-west-1"
KINDS = ("buckets", "glue_jobs", "state_machines", "lambdas")
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}
PROVISION_WORKERS = 8


@dataclass(frozen=True)
class Resources:
    """The names provisioned, per kind (the environments file's ``[<env>.resources]``)."""

    buckets: tuple[str, ...]
    glue_jobs: tuple[str, ...]
    state_machines: tuple[str, ...]
    lambdas: tuple[str, ...]

    def by_kind(self) -> dict[str, tuple[str, ...]]:
        """Kind name to names, in ``KINDS`` order."""
        return {kind: getattr(self, kind) for kind in KINDS}

    def count(self) -> int:
        """How many resources in all."""
        return sum(len(names) for names in self.by_kind().values())


def split(n: int) -> dict[str, int]:
    """N resources spread evenly over the four kinds, the first kinds taking the remainder
    (N=500: 125 of each, so 625 check calls, as in the issue)."""
    if n < len(KINDS):
        raise ValueError(f"N={n}: at least {len(KINDS)} resources, one of each kind")
    base, extra = divmod(n, len(KINDS))
    return {kind: base + (i < extra) for i, kind in enumerate(KINDS)}


def resources(n: int) -> Resources:
    """Deterministic, valid names for N resources."""
    counts = split(n)
    prefixes = {
        "buckets": "bench-bucket",
        "glue_jobs": "bench-job",
        "state_machines": "bench-sm",
        "lambdas": "bench-fn",
    }
    return Resources(
        **{kind: tuple(f"{prefixes[kind]}-{i:04d}" for i in range(counts[kind])) for kind in KINDS}
    )


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def moto_server(timeout_s: float = 30.0) -> Iterator[str]:
    """``python -m moto.server`` on a free loopback port; yields its URL, stops it after."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        began = time.monotonic()
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() - began > timeout_s:
                    raise RuntimeError(f"moto server on {url} did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def moto_config(url: str, config: dict[str, Any]) -> None:
    """POST /moto-api/config (e.g. Lambda's stub mode), before the resources are made."""
    request = urllib.request.Request(
        f"{url}/moto-api/config",
        data=json.dumps(config).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()


def trust(service: str) -> str:
    """An assume-role policy document trusting ``service``."""
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def definition(job: str, function_arn: str) -> str:
    """A state machine that starts a Glue job, then invokes a Lambda: both exist."""
    return json.dumps(
        {
            "StartAt": "Etl",
            "States": {
                "Etl": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::glue:startJobRun",
                    "Parameters": {"JobName": job},
                    "Next": "Summary",
                },
                "Summary": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": function_arn},
                    "End": True,
                },
            },
        }
    )


def handler_zip() -> bytes:
    """A one-file Lambda package (stub mode never runs it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return {'ok': True}\n")
    return buffer.getvalue()


def provision(url: str, wanted: Resources) -> float:
    """Create every resource of ``wanted`` at ``url`` (moto, not the proxy); seconds taken."""
    import boto3

    began = time.perf_counter()
    moto_config(url, {"lambda": {"use_docker": False}})
    session = boto3.session.Session(region_name=REGION, **_keys())
    client = {s: session.client(s, endpoint_url=url) for s in ("s3", "iam", "glue")}
    client |= {s: session.client(s, endpoint_url=url) for s in ("stepfunctions", "lambda")}
    roles = {
        service: client["iam"].create_role(
            RoleName=f"bench-{service.split('.')[0]}-role",
            AssumeRolePolicyDocument=trust(service),
        )["Role"]["Arn"]
        for service in ("glue.amazonaws.com", "states.amazonaws.com", "lambda.amazonaws.com")
    }
    _each(wanted.buckets, lambda b: _bucket(client["s3"], b))
    scripts = wanted.buckets[0]
    _each(wanted.glue_jobs, lambda j: _job(client, j, scripts, roles["glue.amazonaws.com"]))
    code = handler_zip()
    arns = _each(
        wanted.lambdas,
        lambda f: _function(client["lambda"], f, roles["lambda.amazonaws.com"], code),
    )
    jobs, sfn_role = wanted.glue_jobs, roles["states.amazonaws.com"]
    _each(
        range(len(wanted.state_machines)),
        lambda i: client["stepfunctions"].create_state_machine(
            name=wanted.state_machines[i],
            definition=definition(jobs[i % len(jobs)], arns[i % len(arns)]),
            roleArn=sfn_role,
        ),
    )
    return time.perf_counter() - began


def _keys() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


def _each(items: Sequence[Any], make: Callable[[Any], Any]) -> list[Any]:
    """``make`` for every item on a few threads (moto's server is threaded), in order."""
    with ThreadPoolExecutor(PROVISION_WORKERS) as pool:
        return list(pool.map(make, items))


def _bucket(s3: Any, bucket: str) -> None:
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [rule]})
    block = dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"),
        True,
    )
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=block)


def _job(client: dict[str, Any], job: str, bucket: str, role: str) -> None:
    key = f"scripts/{job}.py"
    client["s3"].put_object(Bucket=bucket, Key=key, Body=b"print('etl')\n")
    client["glue"].create_job(
        Name=job,
        Role=role,
        Command={"Name": "glueetl", "ScriptLocation": f"s3://{bucket}/{key}"},
        GlueVersion="4.0",
    )


def _function(lambda_client: Any, function: str, role: str, code: bytes) -> str:
    created = lambda_client.create_function(
        FunctionName=function,
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": code},
    )
    arn: str = created["FunctionArn"]
    return arn
