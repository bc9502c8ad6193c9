"""Two real processes (as two workers of ``serve --workers 2``) write call records into one
SQLite file at the same time: WAL, busy timeouts and each process's own RecordWriter lose
nothing."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from hotelvoice.hotel.store import Store
from tests.hotel.test_records import INN, NOW

CALLS = 40
TURNS = 15


def test_two_processes_writing_records_at_once_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "hotel.db"
    with Store.open(db) as store:  # the parent's part: migrated and seeded before they start
        store.seed_property(INN, INN.today(NOW))
    root = Path(__file__).resolve().parent.parent.parent
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.hotel.records_process_probe",
                str(db),
                prefix,
                str(CALLS),
                str(TURNS),
            ],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for prefix in ("00", "11")
    ]
    try:
        for worker in workers:  # both are ready (stdin is read once they are): go
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    for output in outputs:
        assert json.loads(output.splitlines()[-1])["failures"] == 0
    with contextlib.closing(sqlite3.connect(db)) as conn:
        calls = conn.execute(
            "SELECT count(*) FROM calls WHERE ended_at IS NOT NULL AND end_reason = ?",
            ("caller hung up",),
        ).fetchone()[0]
        per_call = conn.execute(
            "SELECT call_sid, count(*), min(seq), max(seq) FROM call_turns GROUP BY call_sid"
        ).fetchall()
    assert calls == 2 * CALLS
    assert len(per_call) == 2 * CALLS
    assert all(count == TURNS and (low, high) == (1, TURNS) for _, count, low, high in per_call)
    print(f"\n{2 * CALLS} calls x {TURNS} turns from 2 processes: all written; {outputs}")
