"""One name per protocol idea: the Python constants match the Rust side and the protocol page."""

import importlib.util
import os
import re

from conftest import REPO_ROOT
from mcp_sidecar import _protocol as proto

RUST_PROTOCOL = os.path.join(REPO_ROOT, "crates", "mcp-sidecar", "src", "ipc", "protocol.rs")
PROTOCOL_PAGE = os.path.join(REPO_ROOT, "docs", "ipc-protocol.md")


def test_method_names_match_the_sidecars():
    with open(RUST_PROTOCOL, encoding="utf-8") as handle:
        source = handle.read()
    block = re.search(r"pub mod method \{(.*?)\n\}", source, re.S)
    assert block, "protocol.rs has no `pub mod method`"
    rust = dict(re.findall(r'pub const (\w+): &str = "([^"]+)";', block.group(1)))
    python = {name: getattr(proto, name) for name in rust if hasattr(proto, name)}
    assert python == rust
    assert sorted(proto.METHODS) == sorted(rust.values())


def test_every_method_is_in_the_protocol_page():
    with open(PROTOCOL_PAGE, encoding="utf-8") as handle:
        rows = re.findall(r"^\| `([a-z.]+)` \|", handle.read(), re.M)
    assert sorted(proto.METHODS) == sorted(set(rows) & set(proto.METHODS))
    assert len(set(proto.STATES)) == len(proto.STATES) == 4


def test_the_mcp_client_is_not_in_the_runtime_package():
    assert importlib.util.find_spec("mcp_sidecar.client") is None
    assert importlib.util.find_spec("mcp_client") is not None  # scripts/, on the tests' path
