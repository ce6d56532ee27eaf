"""Shared test helpers: every server in the suite listens on 127.0.0.1, port 0."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Every blocking step of a test is bounded by this many seconds.
TIMEOUT = 10

MODELS = ["plain", "threading"] + (["forking"] if hasattr(os, "fork") else [])
