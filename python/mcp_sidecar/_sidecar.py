"""``McpSidecar``: start the sidecar, serve its IPC calls with the host's tools, stop it."""

import atexit
import inspect
import logging
import os
import secrets
import threading
import time
import weakref

from . import _jsonrpc as rpc
from . import _protocol as proto
from ._calls import CALL_MODES, Call, make_executor
from ._context import ToolContext
from ._errors import ConnectionLostError, SidecarError, SidecarStartError
from ._ipc import DEFAULT_HELLO_TIMEOUT, IpcServer, check_transport, default_transport
from ._locate import get_binary_path
from ._process import NotReady, SidecarProcess, describe_exit
from ._prompts import Prompt, PromptRegistry
from ._resources import Resource, ResourceRegistry, ResourceTemplate
from ._tools import Tool, ToolRegistry, run_tool

log = logging.getLogger("mcp_sidecar")

TOKEN_ENV = "MCP_SIDECAR_TOKEN"

# Safety net: sidecars still running when the interpreter exits are stopped.
_live = weakref.WeakSet()


@atexit.register
def _stop_all_at_exit():
    for sidecar in list(_live):
        try:
            sidecar.stop(timeout=1.0)
        except Exception:
            pass


class McpSidecar(object):
    """An MCP server sidecar serving this process's tools over HTTP.

    ``tools``: a dict ``{name: handler}`` or an iterable of tuples
    ``(name, handler[, description[, input_schema]])``. Handlers are called as
    ``handler(**arguments)``. ``binary``: the sidecar's path, or an argv prefix such as
    ``["wine", "mcp-sidecar.exe"]``; default ``get_binary_path()``. ``env``: extra
    environment variables for the sidecar, on top of ``os.environ``. ``extra_args``: more
    sidecar flags (e.g. ``["--log-level", "debug"]``). ``ipc``: the IPC transport, ``"pipe"``
    (a named pipe, the Windows default), ``"unix"`` (the POSIX default) or ``"tcp"`` (loopback).
    ``hello_timeout``: seconds an IPC peer has, from connecting, to authenticate.
    """

    def __init__(
        self,
        tools=None,
        host="127.0.0.1",
        port=0,
        require_auth=False,
        call_mode="thread",
        tool_timeout=30.0,
        binary=None,
        ipc=None,
        allowed_origins=(),
        log_file=None,
        extra_args=(),
        env=None,
        hello_timeout=DEFAULT_HELLO_TIMEOUT,
    ):
        if call_mode not in CALL_MODES:
            raise ValueError("call_mode must be 'thread' or 'main', not {!r}".format(call_mode))
        if ipc is not None:
            check_transport(ipc)
        if tool_timeout is None or tool_timeout <= 0:
            raise ValueError("tool_timeout must be a positive number of seconds")
        self.host = host
        self.port = port
        self.require_auth = require_auth
        self.call_mode = call_mode
        self.tool_timeout = float(tool_timeout)
        self.binary = binary
        self.ipc = ipc or default_transport()
        self.allowed_origins = tuple(allowed_origins)
        self.log_file = log_file
        self.extra_args = tuple(extra_args)
        self.env = dict(env) if env is not None else None
        self.hello_timeout = hello_timeout
        self._registry = ToolRegistry()
        self._resources = ResourceRegistry()
        self._prompts = PromptRegistry()
        self._contexts = {}  # call id → ToolContext of the tool calls in flight
        self._contexts_lock = threading.Lock()
        self._lock = threading.RLock()
        self._state = proto.NEW
        self._token = None
        self._server = None
        self._process = None
        self._executor = None
        self._bound_port = None
        self._lost_reason = None
        if isinstance(tools, dict):
            tools = tools.items()
        for spec in tools or ():
            self.register_tool(*spec)

    # --- tools -------------------------------------------------------------------------------

    def register_tool(self, name, handler, description="", input_schema=None):
        """Adds (or replaces) a tool; once started, the sidecar is told the list changed.

        ``input_schema`` defaults to one derived from the handler's signature.
        """
        self._registry.add(Tool(name, handler, description, input_schema))
        self._tools_changed()
        return handler

    def tool(self, name=None, description="", input_schema=None):
        """Decorator form of ``register_tool``: ``@sidecar.tool`` or ``@sidecar.tool("name")``;
        the name defaults to the function's."""
        if callable(name):  # used bare, as @sidecar.tool
            return self.register_tool(name.__name__, name)

        def decorate(handler):
            self.register_tool(name or handler.__name__, handler, description, input_schema)
            return handler

        return decorate

    def unregister_tool(self, name):
        """Removes a tool; returns whether it existed."""
        removed = self._registry.remove(name)
        if removed:
            self._tools_changed()
        return removed

    @property
    def tool_names(self):
        return self._registry.names()

    def _tools_changed(self):
        self._notify(proto.TOOLS_CHANGED)

    def _notify(self, method, params=None):
        """A notification to the sidecar if it is connected (dropped otherwise)."""
        connection = self._server.connection if self._server is not None else None
        if connection is not None and not connection.closed:
            try:
                connection.notify(method, params)
            except SidecarError as exc:
                log.debug("%s not sent: %s", method, exc)

    # --- resources ---------------------------------------------------------------------------

    def register_resource(self, uri, reader, name=None, description="", mime_type=None):
        """Adds (or replaces) a resource; ``reader()`` returns str (text) or bytes (blob)."""
        self._resources.add(Resource(uri, reader, name, description, mime_type))
        self._notify(proto.RESOURCES_CHANGED)
        return reader

    def register_resource_template(
        self, uri_template, reader, name=None, description="", mime_type=None, complete=None
    ):
        """Adds an RFC 6570 simple template (``test://items/{id}``); ``reader(**variables)``.

        ``complete(argument_name, partial_value)`` → list of str answers ``completion/complete``.
        """
        self._resources.add(
            ResourceTemplate(uri_template, reader, name, description, mime_type, complete)
        )
        self._notify(proto.RESOURCES_CHANGED)
        return reader

    def resource(self, uri, name=None, description="", mime_type=None, complete=None):
        """Decorator form: ``@sidecar.resource("scene://objects")``; a URI with ``{var}`` is a
        template."""

        def decorate(reader):
            if "{" in uri:
                self.register_resource_template(uri, reader, name, description, mime_type, complete)
            else:
                self.register_resource(uri, reader, name, description, mime_type)
            return reader

        return decorate

    def unregister_resource(self, uri):
        """Removes a resource (or a template, by its template); returns whether it existed."""
        removed = self._resources.remove(uri)
        if removed:
            self._notify(proto.RESOURCES_CHANGED)
        return removed

    def notify_resource_updated(self, uri):
        """``notifications/resources/updated`` to the MCP sessions subscribed to ``uri`` only."""
        self._notify(proto.RESOURCE_UPDATED, {"uri": uri})

    # --- prompts -----------------------------------------------------------------------------

    def register_prompt(self, name, render, description="", arguments=None, complete=None):
        """Adds (or replaces) a prompt; ``render(**arguments)`` returns content.

        ``arguments``: ``[{"name", "description", "required"}]``; ``complete(argument_name,
        partial_value)`` → list of str answers ``completion/complete``.
        """
        if not description:
            description = (inspect.getdoc(render) or "").strip()
        self._prompts.add(Prompt(name, render, description, arguments, complete))
        self._notify(proto.PROMPTS_CHANGED)
        return render

    def prompt(self, name=None, description="", arguments=None, complete=None):
        """Decorator form of ``register_prompt``: ``@sidecar.prompt()``; the name defaults to the
        function's."""
        if callable(name):  # used bare, as @sidecar.prompt
            return self.register_prompt(name.__name__, name)

        def decorate(render):
            self.register_prompt(name or render.__name__, render, description, arguments, complete)
            return render

        return decorate

    def unregister_prompt(self, name):
        """Removes a prompt; returns whether it existed."""
        removed = self._prompts.remove(name)
        if removed:
            self._notify(proto.PROMPTS_CHANGED)
        return removed

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout=10.0):
        """Starts the sidecar and returns its HTTP port once it printed ``READY <port>``."""
        with self._lock:
            if self._state == proto.RUNNING:
                raise SidecarError("the sidecar is already running")
            if self._state == proto.STOPPING:
                raise SidecarError("the sidecar is stopping")
            self._state = proto.RUNNING
            self._lost_reason = None
            self._bound_port = None
        try:
            return self._start(timeout)
        except BaseException:
            if self._state != proto.STOPPED:
                self._teardown(timeout=0.0)
            raise

    def _start(self, timeout):
        deadline = time.monotonic() + timeout
        command = self._command_prefix()
        self._token = secrets.token_urlsafe(32)
        self._executor = make_executor(self.call_mode, self.tool_timeout, self.is_alive)
        self._server = IpcServer(
            self._token,
            on_request=self._on_request,
            on_notification=self._on_notification,
            on_close=self._on_connection_closed,
            transport=self.ipc,
            hello_timeout=self.hello_timeout,
            capabilities=proto.HOST_CAPABILITIES,
        )
        endpoint = self._server.start()
        argv = command + self._arguments(endpoint)
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        env[TOKEN_ENV] = self._token  # the token travels only here, never in argv
        self._process = SidecarProcess(argv, env, self.log_file)
        _live.add(self)
        try:
            port = self._process.wait_ready(max(0.0, deadline - time.monotonic()), timeout)
        except NotReady as exc:
            admissions = self._server.admissions()
            self._teardown(timeout=0.0)
            raise SidecarStartError(self._process.failure_message(exc.args[0], admissions))
        self._bound_port = port
        log.info("mcp-sidecar %s ready at %s", self._process.pid, self.url)
        return port

    def _command_prefix(self):
        binary = self.binary
        if binary is None:
            return [get_binary_path()]
        if isinstance(binary, (list, tuple)):
            return [os.fspath(part) for part in binary]  # e.g. ["wine", "mcp-sidecar.exe"]
        return [os.fspath(binary)]

    def _arguments(self, endpoint):
        args = [
            "--ipc",
            endpoint,
            "--parent-pid",
            str(os.getpid()),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--tool-timeout-ms",
            str(max(1, int(round(self.tool_timeout * 1000)))),
        ]
        for origin in self.allowed_origins:
            args += ["--allowed-origin", origin]
        if self.require_auth:
            args.append("--require-auth")
        return args + list(self.extra_args)

    def stop(self, timeout=5.0):
        """Asks the sidecar to shut down, then terminates, then kills; always reaps it.

        Idempotent. Returns the sidecar's exit code (None if it was never started).
        """
        with self._lock:
            if self._state in (proto.NEW, proto.STOPPING, proto.STOPPED):
                return self._process.returncode if self._process is not None else None
            self._state = proto.STOPPING
        return self._teardown(timeout)

    def _teardown(self, timeout):
        with self._lock:
            self._state = proto.STOPPING
        deadline = time.monotonic() + max(0.0, timeout)
        process, server, executor = self._process, self._server, self._executor
        connection = server.connection if server is not None else None
        if (
            process is not None
            and process.alive()
            and connection is not None
            and not connection.closed
        ):
            try:
                connection.request(
                    proto.LIFECYCLE_SHUTDOWN, {}, timeout=max(0.05, deadline - time.monotonic())
                )
            except (SidecarError, rpc.RpcError) as exc:
                log.debug("lifecycle.shutdown: %s", exc)
        code = None
        if process is not None:
            code = process.stop(max(0.0, deadline - time.monotonic()))
        if server is not None:
            server.close()
        if executor is not None:
            executor.close(timeout=0.25)
        if process is not None:
            process.close()
        _live.discard(self)
        with self._lock:
            self._state = proto.STOPPED
        return code

    def __enter__(self):
        if self._state != proto.RUNNING:
            self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    # --- state -------------------------------------------------------------------------------

    @property
    def token(self):
        """The secret shared with the sidecar (also the HTTP bearer token with require_auth)."""
        return self._token

    @property
    def bound_port(self):
        """The HTTP port the sidecar listens on (None before start)."""
        return self._bound_port

    @property
    def url(self):
        """``http://127.0.0.1:PORT/mcp`` (None before start)."""
        if self._bound_port is None:
            return None
        host = self.host
        if host in ("0.0.0.0", "", "::"):
            host = "127.0.0.1"
        if ":" in host:
            host = "[{}]".format(host)
        return "http://{}:{}/mcp".format(host, self._bound_port)

    @property
    def pid(self):
        return self._process.pid if self._process is not None else None

    @property
    def returncode(self):
        return self._process.returncode if self._process is not None else None

    @property
    def ipc_endpoint(self):
        return self._server.endpoint if self._server is not None else None

    @property
    def output_tail(self):
        """The sidecar's last log lines (stderr), for diagnostics."""
        return self._process.output_tail() if self._process is not None else ""

    def is_alive(self):
        """True while the sidecar runs and its IPC connection is up."""
        if self._state != proto.RUNNING or self._process is None or self._lost_reason is not None:
            return False
        return self._process.alive()

    def wait(self, timeout=None):
        """Blocks until the sidecar exits (or ``timeout``); returns its exit code or None."""
        if self._process is None:
            return None
        return self._process.wait(timeout)

    def process_pending(self, timeout=0.0, max_calls=None):
        """Runs queued tool calls on the calling thread (``call_mode="main"``).

        Waits up to ``timeout`` seconds (None: until one arrives or the sidecar stops) for the
        first call, then runs what is queued, at most ``max_calls``. Returns how many ran.
        """
        if self.call_mode != "main":
            raise SidecarError('process_pending() is for call_mode="main"')
        executor = self._executor
        if executor is None:
            return 0
        return executor.process_pending(timeout, max_calls)

    # --- IPC callbacks (read thread) ---------------------------------------------------------

    def _on_request(self, method, params, reply):
        # Host code (handlers, readers, renderers, completions) runs on the executor; lists here.
        if method == proto.TOOL_LIST:
            reply.result(self._registry.list_result())
        elif method == proto.TOOL_CALL:
            tool, arguments = self._registry.prepare(params)  # RpcError → error reply
            self._executor.submit(self._tool_call(tool, arguments, params, reply))
        elif method == proto.RESOURCE_LIST:
            reply.result(self._resources.list_result())
        elif method == proto.RESOURCE_READ:
            run = self._resources.prepare_read(params)
            self._executor.submit(Call("resource " + params["uri"], run, reply))
        elif method == proto.PROMPT_LIST:
            reply.result(self._prompts.list_result())
        elif method == proto.PROMPT_GET:
            run = self._prompts.prepare_get(params)
            self._executor.submit(Call("prompt " + params["name"], run, reply))
        elif method == proto.COMPLETION_COMPLETE:
            complete, argument, value = self._completer(params)
            if complete is None:
                reply.result({"values": []})
            else:
                run = lambda: {"values": [str(v) for v in complete(argument, value) or ()]}
                self._executor.submit(Call("completion", run, reply))
        elif method == proto.AUTH_HELLO:
            raise rpc.RpcError(rpc.INVALID_REQUEST, "already authenticated")
        else:
            raise rpc.RpcError(rpc.METHOD_NOT_FOUND, "method not found: {}".format(method))

    def _tool_call(self, tool, arguments, params, reply):
        call_id = params.get("call")
        ctx = None
        if tool.wants_context:
            ctx = ToolContext(
                self._server.connection, call_id, params.get("progress"), self.tool_timeout
            )
        done = None
        if ctx is not None and call_id is not None:
            with self._contexts_lock:
                self._contexts[call_id] = ctx

            def done():
                with self._contexts_lock:
                    self._contexts.pop(call_id, None)

        return Call("tool " + tool.name, lambda: run_tool(tool, arguments, ctx), reply, done)

    def _completer(self, params):
        """``completion.complete`` params → (complete function or None, argument, partial)."""
        ref = params.get("ref") if isinstance(params, dict) else None
        argument = params.get("argument") if isinstance(params, dict) else None
        if not isinstance(ref, dict) or not isinstance(argument, dict):
            raise rpc.RpcError(rpc.INVALID_PARAMS, "completion.complete needs 'ref' and 'argument'")
        owner = None
        if ref.get("type") == "ref/prompt":
            owner = self._prompts.get(ref.get("name"))
        elif ref.get("type") == "ref/resource":
            owner = self._resources.template(ref.get("uri"))
        complete = getattr(owner, "complete", None)
        return complete, argument.get("name"), argument.get("value", "")

    def _on_notification(self, method, params):
        if method == proto.TOOL_CANCEL and isinstance(params, dict):
            with self._contexts_lock:
                ctx = self._contexts.get(params.get("call"))
            if ctx is not None:
                ctx._cancel()
            return
        # lifecycle.ready carries nothing the host needs: READY on stdout gives the port.
        log.debug("notification %s %s", method, params)

    def _on_connection_closed(self, reason):
        self._lost_reason = reason
        if self._executor is not None:
            self._executor.wake()
        if self._state == proto.RUNNING:
            code = self._process.returncode if self._process is not None else None
            log.warning(
                "sidecar IPC connection closed: %s (sidecar %s)", reason, describe_exit(code)
            )


__all__ = ["McpSidecar", "ConnectionLostError"]
