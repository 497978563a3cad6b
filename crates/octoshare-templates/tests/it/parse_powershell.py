"""Parses a PowerShell script with tree-sitter-powershell (there is no PowerShell here) and prints
JSON: every ERROR or MISSING node (line and column 1-based, and the text), and every
single-quoted string literal's value in document order (for the Tentacle.exe command check).

Usage: python3 parse_powershell.py < script.ps1
"""

import json
import sys

import tree_sitter_powershell
from tree_sitter import Language, Parser

source = sys.stdin.buffer.read()
tree = Parser(Language(tree_sitter_powershell.language())).parse(source)

errors = []
strings = []
stack = [tree.root_node]
while stack:
    node = stack.pop()
    if node.type == "ERROR" or node.is_missing:
        errors.append(
            {
                "kind": "MISSING" if node.is_missing else "ERROR",
                "line": node.start_point[0] + 1,
                "column": node.start_point[1] + 1,
                "text": source[node.start_byte : node.end_byte].decode("utf-8", "replace")[:80],
            }
        )
    if node.type == "verbatim_string_characters":
        text = source[node.start_byte : node.end_byte].decode("utf-8")
        strings.append((node.start_byte, text[1:-1].replace("''", "'")))
    stack.extend(reversed(node.children))

strings.sort()
json.dump(
    {"has_error": tree.root_node.has_error, "errors": errors, "strings": [text for _, text in strings]},
    sys.stdout,
)
