"""Blender (PyPI ``bpy``) as an MCP host: the sidecar serves tools that edit the scene through
``bpy.ops`` / ``bpy.data`` and the scene itself as a resource, with every handler run on
Blender's main thread by ``process_pending()`` pumped from this script's main loop.

Run by ``cargo xtask test`` (suite ``blender``) in a CPython 3.13 venv holding ``bpy``. Prints
``{"url": ...}`` once the sidecar is ready, serves until stdin closes, then prints one JSON line:
how many handler calls ran, how many ran off the main thread, the scene's object names.

    python scripts/blender_host.py
"""

import json
import sys
import threading

import bpy

import mcp_sidecar
from host_stdio import serve_until_stdin_closes

SCENE_URI = "blender://scene"
PRIMITIVES = {
    "cube": bpy.ops.mesh.primitive_cube_add,
    "sphere": bpy.ops.mesh.primitive_uv_sphere_add,
    "cylinder": bpy.ops.mesh.primitive_cylinder_add,
    "cone": bpy.ops.mesh.primitive_cone_add,
    "plane": bpy.ops.mesh.primitive_plane_add,
}


class Ledger(object):
    """What the handlers saw: calls, and the calls that did not run on the main thread."""

    def __init__(self):
        self.calls = 0
        self.off_main = []

    def enter(self, what):
        self.calls += 1
        if threading.current_thread() is not threading.main_thread():
            self.off_main.append((what, threading.current_thread().name))


def scene_state():
    return [
        {"name": obj.name, "type": obj.type, "location": [round(v, 4) for v in obj.location]}
        for obj in sorted(bpy.data.objects, key=lambda o: o.name)
    ]


def serve(ledger):
    sidecar = mcp_sidecar.McpSidecar(call_mode="main", tool_timeout=30.0)

    def add_object(kind: str, name: str, x: float = 0.0, y: float = 0.0, z: float = 0.0) -> dict:
        """Adds a mesh primitive (cube, sphere, cylinder, cone, plane) named `name` at (x, y, z)."""
        ledger.enter("add_object")
        if kind not in PRIMITIVES:
            raise ValueError("unknown kind {!r}; one of {}".format(kind, sorted(PRIMITIVES)))
        PRIMITIVES[kind](location=(x, y, z))
        obj = bpy.context.active_object
        obj.name = name
        sidecar.notify_resource_updated(SCENE_URI)
        return {"name": obj.name, "location": list(obj.location)}

    def list_objects() -> list:
        """The names of every object in the scene."""
        ledger.enter("list_objects")
        return sorted(obj.name for obj in bpy.data.objects)

    def read_scene():
        ledger.enter("read_scene")
        return json.dumps(scene_state())

    sidecar.register_tool("add_object", add_object)
    sidecar.register_tool("list_objects", list_objects)
    sidecar.register_resource(
        SCENE_URI, read_scene, name="scene", description="Every object", mime_type="application/json"
    )
    sidecar.start(timeout=20.0)
    try:
        # Blender's own loop would do its work between pumps; here the pump is all there is.
        if not serve_until_stdin_closes(sidecar, pump_timeout=0.02):
            raise SystemExit("blender_host: the sidecar died")
    finally:
        sidecar.stop(timeout=10.0)


def main():
    ledger = Ledger()
    serve(ledger)
    report = {
        "blender": bpy.app.version_string,
        "calls": ledger.calls,
        "off_main_thread": ledger.off_main,
        "objects": sorted(obj.name for obj in bpy.data.objects),
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
