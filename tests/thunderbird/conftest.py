"""Fixtures for the Thunderbird end-to-end tests: one world (platform, SMTP sink, signed-in
helper, Thunderbird) for the whole run, since starting Thunderbird is the slow part."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/harness.py

from harness import World  # noqa: E402

# The tenant's policy for these tests: outside recipients, a subject keyword and a DLP
# pattern (US social security numbers) each secure a message; attachments alone do not.
POLICY = {
    "subject_keywords": ["confidential"],
    "dlp_patterns": [r"\b\d{3}-\d{2}-\d{4}\b"],
    "secure_external": True,
    "secure_attachments": False,
}


@pytest.fixture(scope="session")
def world():
    w = World.start(POLICY)
    yield w
    w.stop()
