"""Every schema the API publishes has its own name.

django-ninja names the OpenAPI components after the schema classes: two apps with a `BulkOut`
each would publish one of them for both, and clients would read the wrong shape.
"""

from __future__ import annotations

from collections import defaultdict

from ninja import Schema

from kefu.api import api


def schema_classes() -> list[type[Schema]]:
    seen: list[type[Schema]] = []
    stack = list(Schema.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("kefu."):
            seen.append(cls)
    return seen


def test_api_schema_names_are_unique() -> None:
    api.get_openapi_schema()  # imports every router and its schemas
    modules: dict[str, set[str]] = defaultdict(set)
    for cls in schema_classes():
        modules[cls.__name__].add(cls.__module__)
    clashes = {name: sorted(places) for name, places in modules.items() if len(places) > 1}
    assert clashes == {}
