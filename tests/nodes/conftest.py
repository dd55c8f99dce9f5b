"""Fixtures for the multi-node tests: one stack (`stack.py`) for the whole run — two platform
nodes on PostgreSQL and S3 behind haproxy — started once, since starting it is most of the
cost; each test leaves both nodes up and in the balancer, as it found them.

Needs `PG_TEST_URL` (a PostgreSQL server to create a database on) and `S3_TEST_URL` (an S3
server); scripts/test's nodes-haproxy suite starts both, and haproxy."""

import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/harness.py, tests/reader.py

from harness import keep_logs  # noqa: E402
from stack import Stack  # noqa: E402


@pytest.fixture(scope="session")
def stack():
    workdir = Path(tempfile.mkdtemp(prefix="sealpost-nodes-"))
    s = Stack(workdir)
    yield s
    s.stop()
    keep_logs(workdir, "nodes")


@pytest.fixture
def both_up(stack):
    """Both nodes running and in the balancer, before and after the test."""
    for node in stack.nodes:
        assert stack.balancer.status(node) == "UP", f"node {node.name} is in the balancer"
    yield stack
    for node in stack.nodes:
        if node.proc is None:
            stack.restart_when_down(node)
        stack.balancer.wait_until_status(node, "UP")
