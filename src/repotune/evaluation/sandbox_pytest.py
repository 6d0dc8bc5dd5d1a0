"""A repository's own pytest tests as a sandbox program: the driver, and what it needs to read.

The tests run where generated code runs, in :mod:`repotune.evaluation.sandbox`: a fresh forked
process with CPU, memory and wall-clock limits, no network, no new processes, and writes only in
its work dir, into which the checkout (with the candidate spliced in) is copied
(:class:`~repotune.evaluation.sandbox.WorkTree`). The driver is an ordinary program there:

- the sandbox's interpreter runs without ``site`` (``-I -S``), so the driver puts the work dir
  (and its ``src/``) first on ``sys.path`` and this environment's installed packages last; those
  package folders are passed to the sandbox as read-only (:func:`installed_packages`);
- ``import pytest`` imports ``subprocess``, which imports ``_posixsubprocess``, a module the
  sandbox refuses (it forks without an audit event). The driver registers a stand-in whose
  ``fork_exec`` refuses, so the import succeeds and starting a process stays refused;
- pytest's logging plugin opens its log file (``/dev/null`` by default) for writing, which the
  sandbox refuses outside the work dir: the log goes to a file in the work dir. No cache
  (``-p no:cacheprovider``) and no bytecode are written. Plugins installed in this environment
  load as they would for the team (entry points), so their tests run as they do at home.

Verdicts: pytest's exit code 0 ends the program normally (``passed``); 1, a test failed, raises
``AssertionError`` naming the failed tests (``failed``); any other code (a collection error such
as a candidate that does not parse, no tests found, a usage error) raises ``PytestError``
(``error:PytestError``, the code's name in the detail). A test that hangs is a ``timeout``.
"""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Sequence

LOG_NAME = ".repotune-pytest.log"
_DRIVER = '''\
import os
import sys
import types


def _refuse(*args, **kwargs):
    raise PermissionError("sandbox: new processes are not allowed")


_stand_in = types.ModuleType("_posixsubprocess")
_stand_in.fork_exec = _refuse
sys.modules.setdefault("_posixsubprocess", _stand_in)
sys.dont_write_bytecode = True
_root = os.getcwd()
sys.path[:0] = [path for path in (_root, os.path.join(_root, "src")) if os.path.isdir(path)]
sys.path.extend({packages!r})
import pytest


class PytestError(Exception):
    """pytest ended neither passed nor failed."""


class _Failures:
    def __init__(self):
        self.ids = []

    def pytest_runtest_logreport(self, report):
        if report.failed:
            self.ids.append(report.nodeid)

    pytest_collectreport = pytest_runtest_logreport


_failures = _Failures()
_args = ["-q", "-x", "-p", "no:cacheprovider", "--rootdir=" + _root]
_args.append("--log-file=" + os.path.join(_root, {log_name!r}))
_code = pytest.main([*_args, *{node_ids!r}], plugins=[_failures])
if _code == pytest.ExitCode.TESTS_FAILED:
    raise AssertionError("failed: " + " ".join(_failures.ids))
if _code != pytest.ExitCode.OK:
    _name = getattr(_code, "name", "exit code")
    raise PytestError(_name + " (" + str(int(_code)) + ") " + " ".join(_failures.ids))
'''


def installed_packages() -> tuple[str, ...]:
    """The real paths of this environment's package folders: the driver imports pytest (and the
    tests their dependencies) from there, so the sandbox must let its programs read them."""
    paths = sysconfig.get_paths()
    return tuple(dict.fromkeys(os.path.realpath(paths[key]) for key in ("purelib", "platlib")))


def pytest_program(node_ids: Sequence[str]) -> str:
    """The driver that runs ``node_ids`` (pytest node ids, relative to the work dir)."""
    if not node_ids:
        raise ValueError("`node_ids` must name at least one test; pytest would run them all")
    return _DRIVER.format(
        packages=list(installed_packages()), log_name=LOG_NAME, node_ids=list(node_ids)
    )
