"""The provider itself: its name, its (empty) configuration and its resource types."""

from __future__ import annotations

from typing import Any

from tf.iface import Provider
from tf.schema import Schema
from tf.utils import Diagnostics

from pytest_ohpen.emulator.provider import (
    alerting,
    glue,
    glue_catalog,
    iam,
    lambda_,
    pipeline,
    s3,
)
from pytest_ohpen.emulator.provider.base import AwsResource, ProviderError, loopback_endpoint
from pytest_ohpen.emulator.provider.base import attr as _attr

RESOURCE_TYPES: tuple[type[AwsResource], ...] = (
    *s3.RESOURCES,
    *iam.RESOURCES,
    *glue.RESOURCES,
    *glue_catalog.RESOURCES,
    *lambda_.RESOURCES,
    *pipeline.RESOURCES,
    *alerting.RESOURCES,
)
BY_TYPE = {kind.type_name: kind for kind in RESOURCE_TYPES}


class EmbeddedAws(Provider):
    """``hashicorp/aws`` as far as ``infra/terraform`` needs it, for the embedded account."""

    def get_model_prefix(self) -> str:
        return "aws_"

    def full_name(self) -> str:
        return "registry.terraform.io/hashicorp/aws"

    def get_provider_schema(self, diags: Diagnostics) -> Schema:
        # The real provider's `region` (the environment's AWS_REGION wins here as there).
        return Schema(attributes=[_attr("region", optional=True)])

    def validate_config(self, diags: Diagnostics, config: dict[str, Any]) -> None:
        return None

    def configure_provider(self, diags: Diagnostics, config: dict[str, Any]) -> None:
        try:
            loopback_endpoint()
        except ProviderError as error:
            diags.add_error(str(error))

    def get_data_sources(self) -> list[Any]:
        return []

    def get_resources(self) -> list[Any]:
        return list(RESOURCE_TYPES)
