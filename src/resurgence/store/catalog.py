"""A sweep's results on disk: one Parquet file per run, and a DuckDB catalog over them.

Layout of a results folder::

    plan.json           the experiment, its base scenario and the SALib problem
    design.parquet      one row per planned run (point, policy, replication, seed, run_id, ...)
    runs/<run_id>.parquet  written by the worker (write, then rename): the run's per-tick
                        frame (or one row of outcomes), its record (provenance, timing,
                        outcomes) in the file's metadata
    catalog.duckdb      tables runs, outcomes, failures, design; views results, series
    posterior.parquet   an inference's posterior (``resurgence calibrate --priors``), whose
                        runs are its simulations; view posterior

The run files are the truth; the catalog is a cache that only the sweep's parent process writes
and that :meth:`Catalog.reconcile` rebuilds from the files present (a catalog left broken by a
kill in the middle of a write is set aside and rebuilt).
"""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from resurgence.errors import Problem, UserInputError
from resurgence.store.files import atomic_write_bytes

RUNS = "runs"
CATALOG = "catalog.duckdb"
DESIGN = "design.parquet"
POSTERIOR = "posterior.parquet"
PLAN = "plan.json"
_META_KEY = b"resurgence.run"

#: provenance columns of the ``runs`` table, in order
RUN_COLUMNS = {
    "run_id": "VARCHAR PRIMARY KEY", "seed": "UBIGINT", "scenario_digest": "VARCHAR",
    "params": "VARCHAR", "experiment": "VARCHAR", "package_version": "VARCHAR",
    "git_commit": "VARCHAR", "host": "VARCHAR", "pid": "INTEGER", "started_at": "DOUBLE",
    "seconds": "DOUBLE", "ticks": "INTEGER", "file": "VARCHAR",
}


# ------------------------------------------------------------------- run files
def run_path(folder: Path, run_id: str) -> Path:
    return folder / RUNS / f"{run_id}.parquet"


def write_run(path: Path, frame: pd.DataFrame, record: dict[str, Any]) -> None:
    """Write one run's frame with its record in the file metadata, atomically."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[_META_KEY] = json.dumps(record, default=_jsonable).encode()
    buf = io.BytesIO()
    pq.write_table(table.replace_schema_metadata(meta), buf)
    atomic_write_bytes(path, buf.getvalue())


def read_record(path: Path) -> dict[str, Any]:
    """The record stored in a run file (reads the footer only)."""
    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta[_META_KEY])


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {value!r}")


def run_files(folder: Path) -> dict[str, Path]:
    """run_id -> file of every finished run in a results folder."""
    root = folder / RUNS
    if not root.is_dir():
        return {}
    return {p.stem: p for p in root.glob("*.parquet") if not p.name.startswith(".")}


def remove_partial_files(folder: Path) -> int:
    """Delete the temporary files a killed write left behind; return how many."""
    root = folder / RUNS
    gone = 0
    for p in root.glob(".*.tmp") if root.is_dir() else []:
        p.unlink(missing_ok=True)
        gone += 1
    for p in folder.glob(".*.tmp"):
        p.unlink(missing_ok=True)
        gone += 1
    return gone


# ------------------------------------------------------------------- the catalog
class Catalog:
    """The DuckDB catalog of a results folder. Open it briefly for each operation, so that a
    reader (``resurgence results``) can look while a sweep is running."""

    def __init__(self, folder: Path, read_only: bool = False):
        self.folder = Path(folder)
        self.path = self.folder / CATALOG
        self.read_only = read_only

    def _connect(self, read_only: bool | None = None) -> Any:
        import duckdb

        ro = self.read_only if read_only is None else read_only
        if ro and not self.path.exists():
            return self._in_memory()
        for attempt in range(50):  # another process may hold the file for a moment
            try:
                con = duckdb.connect(str(self.path), read_only=ro)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or attempt == 49:
                    if ro:
                        return self._in_memory()
                    raise
                time.sleep(0.1)
            except duckdb.Error:
                if ro:
                    return self._in_memory()
                self._set_aside()
                con = duckdb.connect(str(self.path))
                break
        if not ro:
            _create_tables(con)
        return con

    def _in_memory(self) -> Any:
        """A catalog rebuilt in memory from the run files (when the file is busy or absent)."""
        import duckdb

        con = duckdb.connect(":memory:")
        _create_tables(con)
        _sync(con, self.folder)
        _views(con, self.folder)
        return con

    def _set_aside(self) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for p in (self.path, self.path.with_name(CATALOG + ".wal")):
            if p.exists():
                p.rename(p.with_name(f"{p.name}.broken-{stamp}"))

    def reconcile(self) -> set[str]:
        """Make the catalog list exactly the run files present; return their run ids.
        O(files) to list, plus a footer read for each file the catalog did not know."""
        def sync() -> set[str]:
            con = self._connect(read_only=False)
            try:
                found = _sync(con, self.folder)
                _views(con, self.folder)
                return found
            finally:
                con.close()

        try:
            return sync()
        except Exception:  # a catalog broken by a kill during a write: rebuild it
            self._set_aside()
            return sync()

    def add(self, records: Iterable[dict[str, Any]]) -> None:
        """Insert finished runs (records returned by the workers)."""
        records = list(records)
        if not records:
            return
        con = self._connect(read_only=False)
        try:
            _insert(con, records)
        finally:
            con.close()

    def add_failure(self, run_id: str, attempts: int, error: str) -> None:
        con = self._connect(read_only=False)
        try:
            con.execute("INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?)",
                        [run_id, attempts, error, time.time()])
        finally:
            con.close()

    def set_design(self) -> None:
        """Load ``design.parquet`` into the catalog and (re)create the views."""
        con = self._connect(read_only=False)
        try:
            _views(con, self.folder)
        finally:
            con.close()

    def query(self, sql: str) -> pd.DataFrame:
        """Run SQL (tables runs, outcomes, failures, design; views results, series)."""
        con = self._connect(read_only=True)
        try:
            return con.execute(sql).df()
        finally:
            con.close()

    def user_query(self, sql: str, key: str = "--query") -> pd.DataFrame:
        """Run a user's SQL read-only and confined to this folder: only SELECT (and EXPLAIN)
        statements, on a connection that reads no file outside the folder and writes none
        (DuckDB's ``enable_external_access = false`` with the folder as the one allowed
        directory, the configuration then locked). Anything else, or a failing query, raises
        :class:`UserInputError` naming ``key``."""
        import duckdb

        con = self._connect(read_only=True)
        try:
            try:
                kinds = {s.type for s in con.extract_statements(sql)}
            except duckdb.Error as exc:
                raise _query_error(key, sql, str(exc)) from None
            if not kinds or not kinds <= _read_only_statements():
                raise _query_error(key, sql, "only a read-only query (SELECT, EXPLAIN) over "
                                   "the results is allowed; COPY, ATTACH, SET, CREATE, INSERT "
                                   "and the like are refused")
            con.execute("SET allowed_directories = ?", [[str(self.folder.resolve())]])
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            try:
                return con.execute(sql).df()
            except duckdb.PermissionException:
                raise _query_error(key, sql, "a query reads only the results folder (its "
                                   "catalog and run files), no other file") from None
            except duckdb.Error as exc:
                raise _query_error(key, sql, str(exc).strip()) from None
        finally:
            con.close()


def _read_only_statements() -> frozenset[Any]:
    import duckdb

    return frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})


def _query_error(key: str, sql: str, allowed: str) -> UserInputError:
    return UserInputError(key, [Problem(key, sql, allowed)])


def _create_tables(con: Any) -> None:
    cols = ", ".join(f"{name} {kind}" for name, kind in RUN_COLUMNS.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS runs ({cols})")
    con.execute("CREATE TABLE IF NOT EXISTS outcomes (run_id VARCHAR, name VARCHAR, "
                "value DOUBLE, PRIMARY KEY (run_id, name))")
    con.execute("CREATE TABLE IF NOT EXISTS failures (run_id VARCHAR PRIMARY KEY, "
                "attempts INTEGER, error VARCHAR, failed_at DOUBLE)")


def _sync(con: Any, folder: Path) -> set[str]:
    files = run_files(folder)
    known = {row[0] for row in con.execute(  # a run counts once its outcomes are in too
        "SELECT run_id FROM runs WHERE run_id IN (SELECT run_id FROM outcomes)").fetchall()}
    gone = {row[0] for row in con.execute("SELECT run_id FROM runs").fetchall()} - set(files)
    if gone:
        con.execute("CREATE OR REPLACE TEMP TABLE gone AS SELECT unnest(?) AS run_id",
                    [sorted(gone)])
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM runs WHERE run_id IN (SELECT run_id FROM gone)")
        con.execute("DELETE FROM outcomes WHERE run_id IN (SELECT run_id FROM gone)")
        con.execute("COMMIT")
    new = [rid for rid in files if rid not in known]
    records = []
    for rid in new:
        try:
            records.append(read_record(files[rid]))
        except Exception:  # unreadable: not a finished run; it will run again
            files[rid].unlink(missing_ok=True)
            files.pop(rid)
    for start in range(0, len(records), 5000):
        _insert(con, records[start:start + 5000])
    if files:
        con.execute("DELETE FROM failures WHERE run_id IN (SELECT run_id FROM runs)")
    return set(files)


def _insert(con: Any, records: list[dict[str, Any]]) -> None:
    runs = pd.DataFrame([{k: r.get(k) for k in RUN_COLUMNS} for r in records],
                        columns=list(RUN_COLUMNS))
    runs["params"] = [json.dumps(r.get("params", {}), default=_jsonable) for r in records]
    outcomes = pd.DataFrame(
        [(r["run_id"], name, _float(value)) for r in records
         for name, value in r.get("outcomes", {}).items()],
        columns=["run_id", "name", "value"],
    )
    con.register("new_runs", runs)
    con.register("new_outcomes", outcomes)
    con.execute("BEGIN TRANSACTION")  # a run and its outcomes, or neither (kill mid-write)
    try:
        con.execute("INSERT OR REPLACE INTO runs SELECT * FROM new_runs")
        con.execute("INSERT OR REPLACE INTO outcomes SELECT * FROM new_outcomes")
        con.execute("DELETE FROM failures WHERE run_id IN (SELECT run_id FROM new_runs)")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("new_runs")
        con.unregister("new_outcomes")


def _float(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _views(con: Any, folder: Path) -> None:
    """(Re)create table ``design`` and views ``results`` (finished runs of the design with
    their outcomes as columns), ``series`` (every run's per-tick rows) and ``posterior`` (an
    inference's particles)."""
    design = folder / DESIGN
    plan = folder / PLAN
    if design.exists():
        con.execute("CREATE OR REPLACE TABLE design AS SELECT * FROM "
                    f"read_parquet('{_sql_path(design)}')")
        names: list[str] = json.loads(plan.read_text())["outcomes"] if plan.exists() else []
        pivot = ", ".join(
            f"max(value) FILTER (WHERE name = '{n}') AS {_quote(n)}" for n in names)
        sel = f"SELECT run_id{', ' + pivot if pivot else ''} FROM outcomes GROUP BY run_id"
        con.execute(
            "CREATE OR REPLACE VIEW results AS SELECT d.*, o.* EXCLUDE (run_id), "
            "r.seconds, r.host, r.started_at FROM design d JOIN runs r USING (run_id) "
            f"JOIN ({sel}) o USING (run_id) ORDER BY d.row")
    if run_files(folder):
        glob = _sql_path(folder / RUNS / "*.parquet")
        con.execute("CREATE OR REPLACE VIEW series AS SELECT * FROM "
                    f"read_parquet('{glob}', union_by_name = true)")
    if (folder / POSTERIOR).exists():
        con.execute("CREATE OR REPLACE VIEW posterior AS SELECT * FROM "
                    f"read_parquet('{_sql_path(folder / POSTERIOR)}')")


def _sql_path(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_bytes(path, json.dumps(data, indent=1, default=_jsonable).encode())


def write_design(folder: Path, design: pd.DataFrame) -> None:
    buf = io.BytesIO()
    design.to_parquet(buf, index=False)
    atomic_write_bytes(folder / DESIGN, buf.getvalue())
