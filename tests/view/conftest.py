"""Fixtures of the viewer tests (the inputs are made in view_fixtures.py)."""

from __future__ import annotations

import pytest
from view_fixtures import ViewInputs, make_inputs


@pytest.fixture(scope="session")
def view_inputs(tmp_path_factory: pytest.TempPathFactory) -> ViewInputs:
    """One set of inputs shared by the session's tests (they only read them)."""
    return make_inputs(tmp_path_factory.mktemp("view-inputs"))
