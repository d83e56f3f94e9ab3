#!/usr/bin/env bash
# The playbook's smoke checks as an aws-CLI script: one CLI process per resource.
# bench/cli_checks.sh ENDPOINT_URL LIST   (LIST: lines "KIND NAME", KIND one of
# bucket, job, state-machine, lambda). Exit 1 at the first failing call, as the
# playbook's `set -e` script would. BENCH_ACCOUNT_ID names the state machines' account.
set -euo pipefail
endpoint="$1"
aws_cli="${AWS_CLI:-aws}"
region="${AWS_DEFAULT_REGION:-eu-west-1}"
account="${BENCH_ACCOUNT_ID:-123456789012}"
while read -r kind name; do
  case "$kind" in
    bucket) "$aws_cli" --endpoint-url "$endpoint" s3api head-bucket --bucket "$name" ;;
    job) "$aws_cli" --endpoint-url "$endpoint" glue get-job --job-name "$name" ;;
    state-machine)
      "$aws_cli" --endpoint-url "$endpoint" stepfunctions describe-state-machine \
        --state-machine-arn "arn:aws:states:$region:$account:stateMachine:$name" ;;
    lambda) "$aws_cli" --endpoint-url "$endpoint" lambda get-function-configuration \
        --function-name "$name" ;;
    *) echo "unknown kind $kind" >&2; exit 2 ;;
  esac >/dev/null
done < "$2"
