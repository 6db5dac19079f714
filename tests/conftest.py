"""Fixtures shared by the test modules: where the project's and the shared real files are."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SHARED = ROOT.parent / "shared"
REALFILES = SHARED / "realfiles"
EXAMPLE_REGISTER = ROOT / "examples" / "complaint-register.xlsx"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def realfiles() -> Path:
    if not REALFILES.exists():
        pytest.skip("../shared/realfiles is not beside the project")
    return REALFILES


@pytest.fixture
def example_register() -> Path:
    return EXAMPLE_REGISTER
