"""A tiny host app that `cargo xtask freeze-check` freezes with PyInstaller or Nuitka.

It finds the sidecar binary the way any frozen app would (``mcp_sidecar.locate_binary()``),
registers one tool, starts the sidecar, calls the tool over MCP Streamable HTTP as an AI client
would, checks the answer, stops the sidecar and exits 0. Any failure exits non-zero with one
``freeze_app: FAILED at <step>: <why>`` line on stderr. Standard library + mcp_sidecar only,
Python 3.7 syntax.

Output (stdout), one ``key: value`` per line, read by freeze-check: python, binary, found via,
layout, executable, sidecar pid, url, tools, tool answer, sidecar exit, result. Exit status 3
means the locator found no binary (its error, listing every path tried, is on stderr).
"""

import http.client
import json
import logging
import os
import sys
from urllib.parse import urlsplit

import mcp_sidecar

TOOL = "freeze_probe"
PROBE_TEXT = "frozen sidecar"
PROTOCOL_VERSION = "2025-06-18"
HTTP_TIMEOUT = 20.0
# Exit statuses: the locator's failure is told apart from every other one.
EXIT_FAILED = 1
EXIT_NOT_FOUND = 3


class StepFailed(Exception):
    def __init__(self, step, message, status=EXIT_FAILED):
        Exception.__init__(self, "{}: {}".format(step, message))
        self.step = step
        self.status = status


def say(key, value):
    sys.stdout.write("{}: {}\n".format(key, value))
    sys.stdout.flush()


def probe(text):
    """The tool: proves the call ran in this process (pid) on the arguments sent."""
    return {"reversed": text[::-1], "host_pid": os.getpid()}


# --- a minimal MCP Streamable HTTP client ------------------------------------------------------


class McpHttp(object):
    def __init__(self, url):
        parts = urlsplit(url)
        self.path = parts.path or "/mcp"
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=HTTP_TIMEOUT)
        self.session_id = None
        self.protocol_version = None
        self.next_id = 1

    def close(self):
        self.conn.close()

    def _post(self, message):
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        }
        if self.session_id:
            headers["Mcp-Session-Id"] = self.session_id
        if self.protocol_version:
            headers["MCP-Protocol-Version"] = self.protocol_version
        self.conn.request("POST", self.path, json.dumps(message).encode("utf-8"), headers)
        return self.conn.getresponse()

    def request(self, method, params):
        request_id = self.next_id
        self.next_id += 1
        response = self._post(
            {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        )
        session = response.getheader("Mcp-Session-Id")
        if session:
            self.session_id = session
        if response.status != 200:
            body = response.read().decode("utf-8", "replace")
            raise RuntimeError("{} -> HTTP {}: {}".format(method, response.status, body[:300]))
        content_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if content_type == "text/event-stream":
            answer = _answer_from_sse(response, request_id)
        elif content_type == "application/json":
            answer = json.loads(response.read().decode("utf-8"))
        else:
            raise RuntimeError("{} -> unexpected Content-Type {!r}".format(method, content_type))
        if answer.get("id") != request_id:
            raise RuntimeError(
                "{} -> answer for id {!r}, wanted {}".format(method, answer.get("id"), request_id)
            )
        if "error" in answer:
            raise RuntimeError("{} -> MCP error {}".format(method, json.dumps(answer["error"])))
        return answer.get("result")

    def notify(self, method, params=None):
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        response = self._post(message)
        body = response.read()
        if response.status not in (200, 202, 204):
            raise RuntimeError("{} -> HTTP {}: {}".format(method, response.status, body[:300]))


def _answer_from_sse(response, request_id):
    """Reads SSE events until the JSON-RPC answer with ``request_id``; the rest is dropped."""
    data = []
    while True:
        raw = response.readline()
        if not raw:
            break
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.startswith("data:"):
            data.append(line[5:][1:] if line[5:6] == " " else line[5:])
        elif line == "" and data:
            text = "\n".join(data)
            data = []
            try:
                message = json.loads(text)
            except ValueError:
                continue  # priming or keep-alive events carry no JSON
            if isinstance(message, dict) and message.get("id") == request_id:
                response.close()
                return message
    raise RuntimeError("the event stream ended without an answer to request {}".format(request_id))


# --- the checks --------------------------------------------------------------------------------


def locate():
    try:
        location = mcp_sidecar.locate_binary()
    except mcp_sidecar.BinaryNotFoundError as exc:
        raise StepFailed("locate", str(exc), EXIT_NOT_FOUND)
    say("binary", location.path)
    say("found via", location.how_found)
    say("layout", location.layout)
    executable = os.name == "nt" or os.access(location.path, os.X_OK)
    say("executable", "yes" if executable else "no")
    if not executable:
        raise StepFailed("locate", "{} is not executable".format(location.path))


def call_tool(url):
    client = McpHttp(url)
    try:
        try:
            init = client.request(
                "initialize",
                {
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "freeze_app", "version": "1"},
                },
            )
        except Exception as exc:
            raise StepFailed("initialize", str(exc))
        client.protocol_version = init.get("protocolVersion") or PROTOCOL_VERSION
        if not client.session_id:
            raise StepFailed("initialize", "no Mcp-Session-Id header in the answer")
        try:
            client.notify("notifications/initialized")
            listed = client.request("tools/list", {})
        except Exception as exc:
            raise StepFailed("tools/list", str(exc))
        names = sorted(tool.get("name") for tool in listed.get("tools", []))
        say("tools", ", ".join(names))
        if TOOL not in names:
            raise StepFailed(
                "tools/list", "{} is not among the listed tools {}".format(TOOL, names)
            )
        try:
            result = client.request("tools/call", {"name": TOOL, "arguments": {"text": PROBE_TEXT}})
        except Exception as exc:
            raise StepFailed("tools/call", str(exc))
    finally:
        client.close()
    return check_answer(result)


def check_answer(result):
    if not isinstance(result, dict) or result.get("isError"):
        raise StepFailed("tools/call", "error result: {}".format(json.dumps(result)))
    answer = result.get("structuredContent")
    if answer is None:
        texts = [c.get("text", "") for c in result.get("content", []) if c.get("type") == "text"]
        try:
            answer = json.loads("".join(texts))
        except ValueError:
            raise StepFailed(
                "tools/call", "answer is not the probe's JSON: {}".format(json.dumps(result))
            )
    if answer.get("host_pid") != os.getpid():
        raise StepFailed(
            "tools/call",
            "answered by pid {!r}, not this host ({})".format(answer.get("host_pid"), os.getpid()),
        )
    if answer.get("reversed") != PROBE_TEXT[::-1]:
        raise StepFailed(
            "tools/call",
            "wrong answer {!r}, wanted {!r}".format(answer.get("reversed"), PROBE_TEXT[::-1]),
        )
    say("tool answer", answer["reversed"])
    return answer


def run():
    locate()
    # No binary= argument: the app finds the sidecar exactly as any user's app would.
    sidecar = mcp_sidecar.McpSidecar(tool_timeout=10.0)
    sidecar.register_tool(
        TOOL,
        probe,
        "Reverse a text (freeze-check probe)",
        {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    )
    try:
        sidecar.start(timeout=30.0)
    except Exception as exc:
        raise StepFailed("start", str(exc))
    try:
        say("sidecar pid", sidecar.pid)
        say("url", sidecar.url)
        call_tool(sidecar.url)
    finally:
        sidecar.stop(timeout=5.0)
    code = sidecar.returncode
    say("sidecar exit", code)
    if sidecar.is_alive():
        raise StepFailed("stop", "the sidecar (pid {}) is still running".format(sidecar.pid))
    if code != 0:
        raise StepFailed(
            "stop", "the sidecar exited with {}, not 0 after lifecycle.shutdown".format(code)
        )


def main():
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
    say("python", sys.executable)
    try:
        run()
    except StepFailed as exc:
        sys.stderr.write("freeze_app: FAILED at {}\n".format(exc))
        return exc.status
    except Exception as exc:  # anything unforeseen still names itself
        sys.stderr.write(
            "freeze_app: FAILED at unexpected error: {}: {}\n".format(type(exc).__name__, exc)
        )
        return EXIT_FAILED
    say("result", "OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
