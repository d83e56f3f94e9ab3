"""Glue Data Catalog: the databases and the tables Athena reads. A table's change is an
UpdateTable, which keeps the old definition as a version (the schema check compares the
newest two), as AWS does."""

from __future__ import annotations

from typing import Any

from tf.blocks import SetNestedBlock
from tf.schema import Block, Schema
from tf.types import Map, String

from pytest_ohpen.emulator.provider.base import AwsResource, State, attr, aws_code

MISSING = ("EntityNotFoundException",)


def _account(aws: Any) -> str:
    return str(aws("sts").get_caller_identity()["Account"])


def _region(aws: Any) -> str:
    return str(aws("glue").meta.region_name)


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields with a value (Terraform's null is "not sent", as the real provider does)."""
    return {key: value for key, value in fields.items() if value is not None}


class Database(AwsResource):
    type_name = "aws_glue_catalog_database"
    name_key = "name"
    schema = Schema(
        attributes=[
            attr("name", required=True, requires_replace=True),
            attr("description", optional=True),
            attr("location_uri", optional=True),
            attr("parameters", Map(String()), optional=True),
            attr("catalog_id", computed=True),
            attr("arn", computed=True),
            attr("id", computed=True),
        ]
    )

    def _input(self, planned: State) -> dict[str, Any]:
        return _present(
            {
                "Name": planned["name"],
                "Description": planned.get("description"),
                "LocationUri": planned.get("location_uri"),
                "Parameters": planned.get("parameters"),
            }
        )

    def _computed(self, planned: State) -> State:
        account, name = _account(self.aws), planned["name"]
        return {
            **planned,
            "catalog_id": account,
            "arn": f"arn:aws:glue:{_region(self.aws)}:{account}:database/{name}",
            "id": f"{account}:{name}",
        }

    def make(self, planned: State) -> State:
        self.aws("glue").create_database(DatabaseInput=self._input(planned))
        return self._computed(planned)

    def change(self, current: State, planned: State) -> State:
        # In place, as AWS does: replacing a database would drop its tables with it.
        self.aws("glue").update_database(Name=planned["name"], DatabaseInput=self._input(planned))
        return self._computed(planned)

    def look(self, current: State) -> State | None:
        # An import names it "catalog:database" (or just the database).
        name = str(current.get("name") or current["id"]).rsplit(":", 1)[-1]
        try:
            found = self.aws("glue").get_database(Name=name)["Database"]
        except Exception as error:
            if aws_code(error) in MISSING:
                return None
            raise
        return self._computed(
            {
                "name": name,
                "description": found.get("Description"),
                "location_uri": found.get("LocationUri"),
                "parameters": found.get("Parameters") or current.get("parameters"),
            }
        )

    def remove(self, current: State) -> None:
        self.aws("glue").delete_database(Name=current["name"])


_COLUMN = Block(
    attributes=[
        attr("name", required=True),
        attr("type", optional=True),
        attr("comment", optional=True),
    ]
)
_SERDE = SetNestedBlock(
    "ser_de_info",
    Block(
        attributes=[
            attr("name", optional=True),
            attr("serialization_library", optional=True),
            attr("parameters", Map(String()), optional=True),
        ]
    ),
)
_STORAGE = SetNestedBlock(
    "storage_descriptor",
    Block(
        attributes=[
            attr("location", optional=True),
            attr("input_format", optional=True),
            attr("output_format", optional=True),
        ],
        block_types=[SetNestedBlock("columns", _COLUMN), _SERDE],
    ),
)


def _columns_in(columns: list[State] | None) -> list[dict[str, Any]]:
    return [
        _present({"Name": c["name"], "Type": c.get("type"), "Comment": c.get("comment")})
        for c in columns or []
    ]


def _columns_out(columns: list[dict[str, Any]] | None) -> list[State]:
    return [
        {"name": c["Name"], "type": c.get("Type"), "comment": c.get("Comment")}
        for c in columns or []
    ]


def table_input(planned: State) -> dict[str, Any]:
    """The TableInput Glue gets for a table's Terraform attributes."""
    fields: dict[str, Any] = {
        "Name": planned["name"],
        "Description": planned.get("description"),
        "TableType": planned.get("table_type"),
        "Parameters": planned.get("parameters"),
        "PartitionKeys": _columns_in(planned.get("partition_keys")) or None,
    }
    for storage in (planned.get("storage_descriptor") or [])[:1]:
        serde = (storage.get("ser_de_info") or [None])[0]
        fields["StorageDescriptor"] = _present(
            {
                "Location": storage.get("location"),
                "InputFormat": storage.get("input_format"),
                "OutputFormat": storage.get("output_format"),
                "Columns": _columns_in(storage.get("columns")),
                "SerdeInfo": None
                if serde is None
                else _present(
                    {
                        "Name": serde.get("name"),
                        "SerializationLibrary": serde.get("serialization_library"),
                        "Parameters": serde.get("parameters"),
                    }
                ),
            }
        )
    return _present(fields)


def table_state(found: dict[str, Any], current: State) -> State:
    """A table's Terraform attributes (less the computed ones) from GetTable's Table."""
    storage = found.get("StorageDescriptor")
    recorded = (current.get("storage_descriptor") or [{}])[0]
    serde = (storage or {}).get("SerdeInfo")
    recorded_serde = (recorded.get("ser_de_info") or [{}])[0]
    return {
        "name": found["Name"],
        "database_name": found["DatabaseName"],
        "description": found.get("Description"),
        "table_type": found.get("TableType"),
        "parameters": found.get("Parameters") or current.get("parameters"),
        "partition_keys": _columns_out(found.get("PartitionKeys")),
        "storage_descriptor": []
        if storage is None
        else [
            {
                "location": storage.get("Location"),
                "input_format": storage.get("InputFormat"),
                "output_format": storage.get("OutputFormat"),
                "columns": _columns_out(storage.get("Columns")),
                "ser_de_info": []
                if serde is None
                else [
                    {
                        "name": serde.get("Name"),
                        "serialization_library": serde.get("SerializationLibrary"),
                        "parameters": serde.get("Parameters") or recorded_serde.get("parameters"),
                    }
                ],
            }
        ],
    }


class Table(AwsResource):
    type_name = "aws_glue_catalog_table"
    name_key = "name"
    schema = Schema(
        attributes=[
            attr("name", required=True, requires_replace=True),
            attr("database_name", required=True, requires_replace=True),
            attr("description", optional=True),
            attr("table_type", optional=True),
            attr("parameters", Map(String()), optional=True),
            attr("catalog_id", computed=True),
            attr("arn", computed=True),
            attr("id", computed=True),
        ],
        block_types=[SetNestedBlock("partition_keys", _COLUMN), _STORAGE],
    )

    @classmethod
    def omit_name(cls, attributes: State) -> str:
        """ "database.table", as the environment names it."""
        return f"{attributes.get('database_name')}.{attributes.get('name')}"

    def _computed(self, state: State) -> State:
        account, database, name = _account(self.aws), state["database_name"], state["name"]
        return {
            **state,
            "catalog_id": account,
            "arn": f"arn:aws:glue:{_region(self.aws)}:{account}:table/{database}/{name}",
            "id": f"{account}:{database}:{name}",
        }

    def make(self, planned: State) -> State:
        self.aws("glue").create_table(
            DatabaseName=planned["database_name"], TableInput=table_input(planned)
        )
        return self._computed(planned)

    def change(self, current: State, planned: State) -> State:
        # UpdateTable: the definition before it stays readable as the previous version.
        self.aws("glue").update_table(
            DatabaseName=planned["database_name"], TableInput=table_input(planned)
        )
        return self._computed(planned)

    def look(self, current: State) -> State | None:
        database, name = current.get("database_name"), current.get("name")
        if not database:  # an import: "catalog:database:table" (or "database:table")
            database, name = str(current["id"]).split(":")[-2:]
        try:
            found = self.aws("glue").get_table(DatabaseName=database, Name=name)["Table"]
        except Exception as error:
            if aws_code(error) in MISSING:
                return None
            raise
        return self._computed(table_state(found, current))

    def remove(self, current: State) -> None:
        self.aws("glue").delete_table(DatabaseName=current["database_name"], Name=current["name"])


RESOURCES = (Database, Table)
