"""The rows the data migrations load, put back for tests that run after a transactional test.

Transactional tests (threads, the live server) empty every table when they finish, and pytest-django
runs them after all the others, one after another: what one of them needs from a data migration may
be gone by the time it starts.
"""

from __future__ import annotations

import importlib

from django.apps import apps as global_apps

LOADERS = {
    "surveys": ("kefu.surveys.migrations.0002_defaults", "load"),
    "visits": ("kefu.visits.migrations.0002_defaults", "load"),
    "messaging": ("kefu.messaging.migrations.0002_defaults", "seed"),
}


def load_defaults(app_label: str, *, unless_exists: str) -> None:
    """Run `app_label`'s defaults migration again when model `unless_exists` of it has no rows."""
    if global_apps.get_model(app_label, unless_exists).objects.exists():
        return
    module_name, function = LOADERS[app_label]
    getattr(importlib.import_module(module_name), function)(global_apps, None)
