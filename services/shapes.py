"""Response shapes declared once: an ``*Out`` model whose fields name the SQL they are read from.

Reads serialise rows straight to JSON, without Pydantic (see api.responses), so the select
list *is* the response body; the model only documents it. Each field therefore carries its
source, ``id: Annotated[uuid.UUID, From(Entity.id)]``, and the repository derives its select
list from the model once, at import (:func:`select_list`): a field is named, typed and sourced
in one place, and the document cannot drift from what is served.

- A plain column is selected as is; any other expression is labelled with the field's name.
- A nested object is ``From(json_object(EntityRef, Entity))``: its keys come from the nested
  model's own ``From`` markers, rebound to the entity (or alias) given.
- A list of objects is a correlated ``json_array`` subquery over such an object.
- ``Derived`` marks a field the repository adds to the row in Python after reading it.
"""

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, literal_column
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.orm import QueryableAttribute

# A JSON array aggregate over no rows is NULL; the API shows an empty list.
EMPTY_JSON_ARRAY: Any = literal_column("'[]'::jsonb")


@dataclass(frozen=True, eq=False)  # eq=False: SQL expressions overload ``==``
class From:
    """The column or SQL expression a response field is read from."""

    sql: Any


@dataclass(frozen=True, eq=False)
class Derived:
    """A response field the repository adds to each row in Python (``how`` says where)."""

    how: str


Source = From | Derived

# Every model a select list was derived from, with that list: the declarations a test checks
# the routes' response models against.
DECLARED: dict[type[BaseModel], tuple[Any, ...]] = {}


def sources(model: type[BaseModel]) -> dict[str, Source]:
    """Each field's source, in the model's field order. A field without one is a TypeError,
    raised at import: every field of a response shape says where it comes from."""
    found: dict[str, Source] = {}
    for name, field in model.model_fields.items():
        markers = [m for m in field.metadata if isinstance(m, From | Derived)]
        if len(markers) != 1:
            raise TypeError(f"{model.__name__}.{name} needs one From(...) or Derived(...) marker")
        found[name] = markers[0]
    return found


def select_list(model: type[BaseModel], *, version: Any = None) -> tuple[Any, ...]:
    """The columns to select for ``model``: its ``From`` fields in its order, each named as
    the field; then ``version`` (the record's ETag, which leaves the body) when given.
    Call it once, at import."""
    columns = [_labelled(name, source.sql) for name, source in sources(model).items() if isinstance(source, From)]
    if version is not None:
        columns.append(_labelled("version", version))
    DECLARED[model] = tuple(columns)
    return tuple(columns)


def _labelled(name: str, sql: Any) -> Any:
    # A column already named as the field is left bare, so the SQL reads as written by hand.
    if isinstance(sql, QueryableAttribute | ColumnElement) and getattr(sql, "key", None) == name:
        return sql
    return sql.label(name)


def json_object(model: type[BaseModel], source: Any = None, **values: Any) -> Any:
    """``jsonb_build_object`` of ``model``'s fields, in its order, from their ``From`` SQL.
    With ``source`` (an ORM class or alias), column markers are read from its same-named
    attributes instead: ``json_object(EntityRef, PartyEntity)``. ``values`` replace the SQL
    of the fields they name (an object built another way, with the same keys)."""
    fields = sources(model)
    if unknown := set(values) - set(fields):
        raise TypeError(f"{model.__name__} has no field {sorted(unknown)}")
    pairs: list[Any] = []
    for name, marker in fields.items():
        if name in values:
            sql = values[name]
        elif isinstance(marker, From):
            sql = marker.sql
            if source is not None and isinstance(sql, QueryableAttribute):
                sql = getattr(source, sql.key)
        else:
            raise TypeError(f"{model.__name__}.{name}: a JSON object's fields are all read from SQL")
        pairs += [name, sql]
    return func.jsonb_build_object(*pairs)


def json_array(element: Any, *order_by: Any) -> Any:
    """The JSON array of ``element`` over the rows of the enclosing select, in ``order_by``
    order; ``[]`` when there are none."""
    return func.coalesce(func.jsonb_agg(aggregate_order_by(element, *order_by)), EMPTY_JSON_ARRAY, type_=JSONB)
