"""Demo tools for ``python -m mcp_sidecar serve`` (and the tests)."""

import time


def echo(text: str) -> str:
    """Returns the text it was given."""
    return text


def add(a: float, b: float) -> dict:
    """Adds two numbers."""
    return {"sum": a + b}


def sleep(seconds: float) -> str:
    """Sleeps for the given number of seconds, then says so."""
    time.sleep(seconds)
    return "slept {:g} s".format(seconds)


TOOLS = {"echo": echo, "add": add, "sleep": sleep}
