"""The base of every table model: a row is built the way the ORM builds one it loads.

SQLModel's constructor sets a table model's fields one by one through SQLAlchemy's instrumentation and pydantic's
`__setattr__` (a table model is not validated anyway), and asks pydantic for each default it fills in: about 90 µs
for an order's thirty columns (11 µs here), and a placement builds three. Here the values, and the defaults of the
fields not given, go straight into the instance's dict, as the ORM fills a loaded row; SQLAlchemy's instrumented
`__init__` still gives the instance its state first, so a row built here can be added to a session like any other.
"""

from collections.abc import Callable, Hashable
from functools import cache
from typing import Any

from sqlmodel import SQLModel


@cache
def _defaults(model: type[SQLModel]) -> tuple[tuple[str, Callable[[], Any]], ...]:
    """Each optional field's default, as a call that makes it. A plain default is shared by every row, so it must
    be a value no row can change (None, a number, a string); anything else takes a default_factory."""
    made = []
    for name, field in model.model_fields.items():
        if field.is_required():
            continue  # a required field left out stays unset, as SQLModel leaves it
        if field.default_factory is not None:
            made.append((name, field.default_factory))
        elif isinstance(field.default, Hashable):
            made.append((name, lambda value=field.default: value))
        else:
            raise TypeError(f"{model.__name__}.{name}: a mutable default needs a default_factory")
    return tuple(made)


class Row(SQLModel):
    def __init__(self, **values: Any) -> None:
        model = type(self)
        unknown = values.keys() - model.model_fields.keys()
        if unknown:
            raise TypeError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
        given = set(values)
        for name, make in _defaults(model):
            if name not in given:
                values[name] = make()
        self.__dict__.update(values)
        object.__setattr__(self, "__pydantic_fields_set__", given)
