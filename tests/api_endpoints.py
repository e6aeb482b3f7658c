"""The shape shared by the per-role API tables: one endpoint, called for a test world."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from django.test import Client

API = "/api/v1"


@dataclass(frozen=True)
class ApiEndpoint:
    method: str
    path: str  # formatted with w=<the test's world>, e.g. {w.customer.pk}
    perms: tuple[str, ...]
    ok: int = 200
    json: Callable[[Any], Any] | None = None
    form: Callable[[Any], dict[str, Any]] | None = None
    route: str = ""  # the router's path, when `path` fills in more than its parameters

    # "{w.customer.pk}" → "{customer_id}": how a filled path maps back to the router's path.
    PATH_PARAMETERS: ClassVar[dict[str, str]] = {}

    def url(self, w: Any) -> str:
        return API + self.path.format(w=w)

    def call(self, client: Client, w: Any) -> Any:
        url = self.url(w)
        method = getattr(client, self.method.lower())
        if self.form is not None:
            return method(url, self.form(w))
        if self.json is not None:
            return method(url, json.dumps(self.json(w)), content_type="application/json")
        return method(url)

    @property
    def operation(self) -> str:
        """The router's "METHOD /path" this entry calls."""
        path = self.route or self.path
        for filled, parameter in self.PATH_PARAMETERS.items():
            path = path.replace(filled, parameter)
        return f"{self.method} {path}"
