#!/usr/bin/env python3
"""Reads {"text": ...} as JSON on stdin and prints one "word count" line per
distinct word, most frequent first: an exec node written in Python."""
import collections
import json
import re
import sys

inputs = json.load(sys.stdin)
words = re.findall(r"[a-z']+", inputs["text"].lower())
for word, count in collections.Counter(words).most_common(inputs.get("top", 5)):
    print(f"{word} {count}", flush=True)
