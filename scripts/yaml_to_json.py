"""Prints YAML files as one JSON object {path: document}, parsed the way check-jsonschema
parses them (ruamel.yaml, YAML 1.2, so `on:` stays a string and duplicate keys are errors).

Run by `cargo xtask test --only workflows` with the check-jsonschema venv's Python, which
already carries ruamel.yaml; the xtask then checks the documents as JSON.
"""
import json
import sys

from ruamel.yaml import YAML


def main(paths):
    yaml = YAML(typ="safe", pure=True)
    documents = {}
    for path in paths:
        with open(path, "r", encoding="utf-8") as handle:
            documents[path] = yaml.load(handle)
    json.dump(documents, sys.stdout, sort_keys=True, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
