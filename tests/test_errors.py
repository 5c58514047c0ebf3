"""What a user sees when something goes wrong: bad input is a ``LogError`` with a one-line
message; a bug is never dressed up as bad input.

An unexpected exception while refreshing one log still becomes that run's error row (the
page must not break, the other logs are read), but its traceback goes to the process's log.
"""

from __future__ import annotations

import json
import logging
import os

import pytest
from dashboard_runs import copy_real_runs

from dashboard.files import FolderError, resolve_within
from dashboard.settings import SettingsError, parse_settings
from parsers.errors import LogError
from parsers.store import RunStore
from parsers.store.entry import MANIFEST, entry_key


@pytest.mark.parametrize("argv", [["--refresh", "often"], ["--port", "8501"]])
def test_a_bad_dashboard_argument_is_bad_input(argv):
    with pytest.raises(SettingsError) as caught:
        parse_settings(argv)
    assert isinstance(caught.value, LogError) and "\n" not in str(caught.value)


def test_a_folder_outside_the_runs_root_is_bad_input(tmp_path):
    with pytest.raises(FolderError) as caught:
        resolve_within(tmp_path, "../elsewhere")
    assert isinstance(caught.value, LogError)


def test_a_bug_refreshing_one_log_is_its_row_and_a_traceback_in_the_process_log(tmp_path, caplog):
    runs = copy_real_runs(tmp_path / "runs", ["fit", "basic"])
    store = RunStore(runs)
    entry = store.store_dir / "logs" / entry_key(os.path.join(runs / "fit", "train.log"))
    entry.mkdir(parents=True)
    (entry / MANIFEST).write_text(json.dumps({"files": {"context": "c.json"}}))  # cut short: no fingerprint
    with caplog.at_level(logging.ERROR, logger="parsers.store"):
        store.refresh()
    rows = store.runs().set_index("run")
    assert rows.loc["basic", "status"] != "error"  # the other log is read
    assert rows.loc["fit", "status"] == "error"
    assert rows.loc["fit", "error"] == "KeyError: 'fp_len'"  # one line in the row
    (record,) = [r for r in caplog.records if "train.log" in r.getMessage()]
    assert "fit" in record.getMessage() and record.exc_info and record.exc_info[0] is KeyError
