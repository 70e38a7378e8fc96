"""Find a module of the same name in every installed app (permissions.py, demo.py …).

This is how a lower app gathers what higher apps contribute without importing them.
"""

import importlib
from collections.abc import Iterator
from types import ModuleType

from django.apps import AppConfig, apps


def app_modules(name: str) -> Iterator[tuple[AppConfig, ModuleType]]:
    """(app config, module) for every installed app that has `<app>.<name>`, in
    INSTALLED_APPS order; an import error inside such a module is not hidden."""
    for config in apps.get_app_configs():
        dotted = f"{config.name}.{name}"
        try:
            module = importlib.import_module(dotted)
        except ModuleNotFoundError as exc:
            if exc.name != dotted:
                raise
            continue
        yield config, module
