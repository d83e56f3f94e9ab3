"""The embedded Terraform provider: ``registry.terraform.io/hashicorp/aws`` for exactly the
resource types and attributes ``infra/terraform`` uses, on boto3 against the embedded account.

Written with PyPI's ``tf`` framework (plugin protocol 6). Each resource type is one class
whose boto3 calls live in plain methods (``make``, ``look``, ``change``, ``remove``), so the
same code serves Terraform (through the framework) and ``replay`` (building an account from
a recorded state without Terraform). It only ever talks to a loopback endpoint.
"""
