"""The MCP client side of the ``blender`` suite: drives ``scripts/blender_host.py`` over HTTP.

Four sessions add 25 objects each, concurrently (100 ``add_object`` calls); after each add its
session reads the scene resource and checks that the new object is in it. Then ``list_objects``
and one more read must hold every object. Prints one JSON line with what it saw; exit 0 when every
check held. Standard library and ``scripts/mcp_client.py`` only.

    python scripts/blender_client.py URL
"""

import json
import sys
import threading
import time

from mcp_client import McpClient

SCENE_URI = "blender://scene"
SESSIONS = 4
ADDS_PER_SESSION = 25
KINDS = ["cube", "sphere", "cylinder", "cone", "plane"]


def read_scene(client):
    result = client.request("resources/read", {"uri": SCENE_URI})
    contents = result["contents"]
    if len(contents) != 1 or contents[0]["uri"] != SCENE_URI:
        raise AssertionError("unexpected resources/read answer: {!r}".format(result))
    return json.loads(contents[0]["text"])


def structured(result):
    if result.get("isError"):
        raise AssertionError("tool error: {!r}".format(result))
    return json.loads(result["content"][0]["text"])


def worker(url, index, problems, latencies):
    try:
        add_and_check(url, index, problems, latencies)
    except Exception as exc:  # a lost call is a finding, not a silent thread death
        problems.append("session {}: {!r}".format(index, exc))


def add_and_check(url, index, problems, latencies):
    with McpClient(url) as client:
        client.initialize("blender-client-{}".format(index))
        for n in range(ADDS_PER_SESSION):
            name = "mcp_{}_{:02d}".format(index, n)
            started = time.monotonic()
            added = structured(
                client.call_tool(
                    "add_object",
                    {"kind": KINDS[n % len(KINDS)], "name": name, "x": index, "y": n, "z": 0.5},
                )
            )
            latencies.append(time.monotonic() - started)
            if added["name"] != name:
                problems.append("{} was named {!r}".format(name, added["name"]))
            scene = read_scene(client)
            match = [o for o in scene if o["name"] == name]
            if not match:
                problems.append("{} missing from the scene resource right after its add".format(name))
            elif match[0]["location"] != [float(index), float(n), 0.5]:
                problems.append("{} at {} in the scene resource".format(name, match[0]["location"]))


def main(argv):
    url = argv[1]
    with McpClient(url) as probe:
        probe.initialize("blender-probe")
        tools = sorted(tool["name"] for tool in probe.list_tools())
        before = structured(probe.call_tool("list_objects"))
    problems = []
    latencies = []
    threads = [
        threading.Thread(target=worker, args=(url, i, problems, latencies)) for i in range(SESSIONS)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    expected = sorted(
        "mcp_{}_{:02d}".format(i, n) for i in range(SESSIONS) for n in range(ADDS_PER_SESSION)
    )
    with McpClient(url) as client:
        client.initialize("blender-check")
        after = structured(client.call_tool("list_objects"))
        scene = sorted(o["name"] for o in read_scene(client))
    added = sorted(set(after) - set(before))
    if added != expected:
        problems.append("list_objects gained {} objects, expected {}".format(len(added), len(expected)))
    if scene != after:
        problems.append("the scene resource and list_objects disagree")
    latencies.sort()
    report = {
        "tools": tools,
        "objects_before": len(before),
        "objects_added": len(added),
        "add_calls": len(latencies),
        "seconds": round(elapsed, 3),
        "add_p50_ms": round(latencies[len(latencies) // 2] * 1000, 2) if latencies else None,
        "problems": problems,
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return 1 if problems or len(latencies) != len(expected) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
