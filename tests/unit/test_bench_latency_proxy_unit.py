"""The scale benchmark's pure parts: naming a request's AWS operation from the wire, the
proxy's HTTP framing, and the arithmetic that decides the benchmark's exit code."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bench/ is not installed

from bench import scale_report as report
from bench.aws_operations import operation, service_of
from bench.bench_scale import cli_sample, environments_toml
from bench.latency_proxy import drop_header, parse_head, read_body
from bench.scale_account import resources, split


def auth(service: str) -> dict[str, str]:
    """Headers of a SigV4-signed request for ``service``."""
    scope = f"Credential=bench/20260101/eu-west-1/{service}/aws4_request"
    return {"authorization": f"AWS4-HMAC-SHA256 {scope}, SignedHeaders=host, Signature=00"}


@pytest.mark.parametrize(
    ("method", "target", "headers", "body", "expected"),
    [
        ("HEAD", "/bench-bucket-0001", auth("s3"), b"", "s3:HeadBucket"),
        ("GET", "/bench-bucket-0001?list-type=2&max-keys=1", auth("s3"), b"", "s3:ListObjectsV2"),
        ("GET", "/bench-bucket-0001?versioning", auth("s3"), b"", "s3:GetBucketVersioning"),
        ("GET", "/bench-bucket-0001/scripts/a.py", auth("s3"), b"", "s3:GetObject"),
        ("POST", "/", {**auth("glue"), "x-amz-target": "AWSGlue.GetJob"}, b"{}", "glue:GetJob"),
        (
            "POST",
            "/",
            {**auth("states"), "x-amz-target": "AWSStepFunctions.DescribeStateMachine"},
            b"{}",
            "states:DescribeStateMachine",
        ),
        (
            "POST",
            "/",
            auth("sts"),
            b"Action=GetCallerIdentity&Version=2011-06-15",
            "sts:GetCallerIdentity",
        ),
        (
            "GET",
            "/2015-03-31/functions/bench-fn-0001/configuration",
            auth("lambda"),
            b"",
            "lambda:GetFunctionConfiguration",
        ),
        ("PATCH", "/2015-03-31/functions/x", auth("lambda"), b"", "lambda:PATCH /2015-03-31/*/*"),
    ],
)
def test_operation_named_from_the_wire(method, target, headers, body, expected):
    assert operation(method, target, headers, body) == expected


def test_an_unsigned_request_is_counted_as_such():
    assert service_of("") == "unsigned"
    assert operation("GET", "/moto-api/data.json", {}) == "unsigned:GET /moto-api/*"


def test_parse_head_lower_cases_header_names():
    method, target, version, headers = parse_head(
        b"HEAD /b HTTP/1.1\r\nHost: x\r\nX-Amz-Target: A.B\r\n\r\n"
    )
    assert (method, target, version) == ("HEAD", "/b", "HTTP/1.1")
    assert headers == {"host": "x", "x-amz-target": "A.B"}


def test_drop_header_keeps_the_rest():
    head = b"PUT /b/k HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
    assert drop_header(head, b"expect") == b"PUT /b/k HTTP/1.1\r\nContent-Length: 2\r\n\r\n"


def body_of(data: bytes, headers: dict[str, str], until_close: bool = False) -> bytes:
    """``read_body`` on a stream holding ``data`` and then more (which must stay unread)."""

    async def read() -> tuple[bytes, bytes]:
        reader = asyncio.StreamReader()
        reader.feed_data(data + b"NEXT")
        reader.feed_eof()
        body = await read_body(reader, headers, until_close)
        return body, await reader.read()

    body, rest = asyncio.run(read())
    assert until_close or rest == b"NEXT"
    return body


def test_chunked_body_is_read_to_its_end_with_framing_kept():
    framed = b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\n"
    assert body_of(framed, {"transfer-encoding": "chunked"}) == framed


def test_content_length_body_stops_at_its_length():
    assert body_of(b"hello", {"content-length": "5"}) == b"hello"


def test_a_request_without_length_has_no_body_and_a_response_reads_to_close():
    assert body_of(b"", {}) == b""
    assert body_of(b"tail", {}, until_close=True) == b"tailNEXT"


def test_split_spreads_evenly_as_the_issue_counted():
    assert split(500) == dict.fromkeys(("buckets", "glue_jobs", "state_machines", "lambdas"), 125)
    assert split(6) == {"buckets": 2, "glue_jobs": 2, "state_machines": 1, "lambdas": 1}
    with pytest.raises(ValueError, match="N=3"):
        split(3)


def test_cli_sample_takes_every_kind_when_capped():
    wanted = resources(200)
    lines = cli_sample(wanted, 8)
    assert [line.split()[0] for line in lines] == ["bucket"] * 2 + ["job"] * 2 + [
        "state-machine"
    ] * 2 + ["lambda"] * 2
    assert len(cli_sample(resources(8), 8)) == 8


def test_environments_file_points_at_the_proxy_without_retries():
    text = environments_toml("http://127.0.0.1:9", resources(4))
    assert 'endpoint_url = "http://127.0.0.1:9"' in text
    assert "retries = 0" in text and "deadline = 3600" in text
    assert 'glue_jobs = ["bench-job-0000"]' in text
    assert "concurrency" not in text  # the checkout's default unless asked
    assert "concurrency = 4\n" in environments_toml("http://127.0.0.1:9", resources(4), 4)


def test_physical_limit_and_paired_ratio():
    assert report.physical_limit(0.1, 1007, 1) == pytest.approx(100.7)
    assert report.physical_limit(0.1, 1000, 8) == pytest.approx(12.5)
    assert report.paired_ratio([3.0, 10.0, 4.0], [1.0, 2.0, 2.0]) == 3.0
    assert report.paired_ratio([], []) is None


def runs(label: str, walls: list[float], checks: int, peak: float = 80.0) -> report.Runs:
    made = report.Runs(label, 1)
    for wall in walls:
        made.add(wall, 1.0, peak, checks + 5, checks, 0)
    return made


def test_judge_passes_a_plugin_meeting_every_target():
    plugin = runs("plugin", [10.0, 11.0, 12.0], 625, peak=120.0)
    seq = runs("boto3 sequential", [9.0, 10.0, 10.0], 625)
    cli = runs("aws CLI script", [60.0, 50.0, 70.0], 500)
    verdicts = report.judge(500, 100.0, plugin, seq, cli)
    assert [v.name for v in verdicts if not v.ok] == []
    assert {v.name for v in verdicts} >= {"N=500: plugin wall, no -n", "N=500: plugin peak memory"}


def test_judge_names_each_missed_target():
    plugin = runs("plugin", [111.0, 112.0, 110.0], 625, peak=300.0)
    seq = runs("boto3 sequential", [60.0, 60.0, 60.0], 610)
    cli = runs("aws CLI script", [200.0, 200.0, 200.0], 500)
    missed = {v.name: v.value for v in report.judge(500, 100.0, plugin, seq, cli) if not v.ok}
    assert missed == {
        "N=500: boto3 script makes the plugin's check calls": "610 vs 625",
        "N=500: plugin / boto3 sequential": "1.85x",
        "N=500: aws CLI / plugin": "1.80x",
        "N=500: plugin wall, no -n": "111.0 s",
        "N=500: plugin peak memory": "300 MiB",
    }


def test_scale_targets_only_judged_at_n_500_and_100_ms():
    plugin = runs("plugin", [111.0], 63, peak=300.0)
    names = {v.name for v in report.judge(50, 100.0, plugin, runs("s", [100.0], 63), None)}
    assert names == {
        "N=50: every run exited 0",
        "N=50: boto3 script makes the plugin's check calls",
        "N=50: plugin / boto3 sequential",
    }


def test_a_failed_run_fails_the_benchmark():
    plugin = runs("plugin", [1.0], 10)
    plugin.exit_codes[0] = 1
    verdict = report.judge(8, 100.0, plugin, runs("s", [1.0], 10), None)[0]
    assert (verdict.value, verdict.ok) == ("[0, 1]", False)


def test_table_shows_targets_beside_the_plugin_row():
    summaries = [runs("plugin", [12.0], 625).summary(0.1), runs("s", [9.0], 625).summary(0.1)]
    table = report.render_n(500, 100.0, summaries)
    plugin_row = next(line for line in table.splitlines() if line.strip().startswith("plugin"))
    assert "target <= 15 s" in plugin_row and "target <= 150 MiB" in plugin_row
    assert "63.00 s at 1" in plugin_row  # 0.1 s x 630 requests
    assert "target" not in table.splitlines()[-1]
