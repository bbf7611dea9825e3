"""Turn google/robotstxt's robots_test.cc into cases.json: every EXPECT_TRUE / EXPECT_FALSE of
IsUserAgentAllowed(robotstxt, agent, url) whose arguments are string literals, or variables
set from literals earlier in the same TEST.

    python convert.py robots_test.cc cases.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')
ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", "\\": b"\\", '"': b'"', "'": b"'", "0": b"\0"}
STATEMENT = re.compile(
    r"(?:const\s+)?(?:absl::string_view|std::string)\s+(\w+)\s*=\s*(.*?);"
    r"|EXPECT_(TRUE|FALSE)\(\s*IsUserAgentAllowed\((.*?)\)\s*\);", re.S)
ARGUMENT_SPLIT = re.compile(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)")  # commas outside quotes


def unescape(text: str) -> bytes:
    """A C++ string literal's bytes."""
    out = bytearray()
    i = 0
    while i < len(text):
        if text[i] != "\\":
            out += text[i].encode("utf-8")
            i += 1
        elif text[i + 1] == "x":
            digits = re.match(r"[0-9a-fA-F]{1,2}", text[i + 2:])
            assert digits is not None
            out.append(int(digits.group(), 16))
            i += 2 + len(digits.group())
        else:
            out += ESCAPES[text[i + 1]]
            i += 2
    return bytes(out)


def literal_value(expression: str) -> bytes | None:
    """Adjacent literals concatenated; None for anything else (a call, an expression)."""
    if LITERAL.sub("", expression).strip():
        return None
    return b"".join(unescape(part) for part in LITERAL.findall(expression))


def cases_of(source: str) -> tuple[list[dict[str, object]], list[str]]:
    cases, skipped = [], []
    for test in re.finditer(r"^TEST\(RobotsUnittest, (\w+)\) \{(.*?)^\}", source, re.M | re.S):
        name, body = test.group(1), test.group(2)
        variables: dict[str, bytes | None] = {}
        for statement in STATEMENT.finditer(body):
            if statement.group(1):
                variables[statement.group(1)] = literal_value(statement.group(2))
                continue
            arguments = [a.strip() for a in ARGUMENT_SPLIT.split(statement.group(4))]
            values = [literal_value(a) if a.startswith('"') else variables.get(a)
                      for a in arguments]
            if len(values) != 3 or any(v is None for v in values):
                skipped.append(name)
                continue
            robots, agent, url = values
            assert robots is not None and agent is not None and url is not None
            cases.append({"test": name, "rfc": name.startswith("ID_"),
                          "robotstxt": robots.decode("latin-1"), "agent": agent.decode(),
                          "url": url.decode(), "allowed": statement.group(3) == "TRUE"})
    return cases, skipped


def main() -> None:
    cases, skipped = cases_of(Path(sys.argv[1]).read_text(encoding="utf-8"))
    Path(sys.argv[2]).write_text(json.dumps(
        {"source": "google/robotstxt robots_test.cc @ 22b355f (Apache-2.0, see LICENSE)",
         "note": "robotstxt holds the file's bytes as latin-1 code points", "cases": cases},
        indent=1))
    print(f"{len(cases)} cases, {sum(bool(c['rfc']) for c in cases)} RFC; skipped: {skipped}")


if __name__ == "__main__":
    main()
