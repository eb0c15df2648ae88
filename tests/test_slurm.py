"""A sweep on SLURM through dask-jobqueue, against a real single-node Slurm started here.

The module starts, in a temporary folder, its own MUNGE daemon (a fresh key, its own socket)
and a Slurm controller and compute node (Debian's ``slurm-wlm``: ``slurmctld`` and ``slurmd``
in the foreground, state, spool, logs and pid files in the folder, free ports, addresses on
127.0.0.1; the daemons bind their port on every interface, as Slurm has no setting to bind
one, and answer only messages signed with this module's key). It waits until ``sinfo`` shows
the node idle, then drives the real ``resurgence sweep ... --cluster slurm``: its Dask
scheduler and the workers of its batch jobs listen on the loopback interface (``lo``), the job
being configured the dask-jobqueue way, by ``DASK_JOBQUEUE__SLURM__*`` variables, with the
developer's own dask configuration kept out (``DASK_CONFIG``). At the end every job is cancelled
and the daemons stopped.

What it pins down: the same results bit for bit as the local pool (outcomes and every per-tick
row); the jobs cancelled when the sweep ends, and when it is ended by SIGTERM or SIGHUP, a
pending job included; a job the batch system refuses, or no job size configured, is one
message and exit 2 with nothing written. Without the Slurm and MUNGE programs the module is
skipped locally with the packages to install (``.ci/run`` installs them; in CI their absence
fails).
"""

from __future__ import annotations

import dataclasses
import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from tests.test_bad_input import one_error
from tests.test_experiments_sweep import SCENARIO, everything, experiment

#: one pytest worker takes every test here (``--dist loadgroup`` in the Makefile): one Slurm
#: cluster at a time on a two-core machine
pytestmark = pytest.mark.xdist_group("slurm")

PROGRAMS = ("munged", "munge", "slurmctld", "slurmd", "sinfo", "squeue", "sbatch", "scancel",
            "scontrol")
SEARCH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
RESURGENCE = str(Path(sys.executable).with_name("resurgence"))

SLURM_CONF = """\
ClusterName=resurgence-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser={user}
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=5
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""

#: the node: 2 CPUs (``config_overrides``: whatever the machine has), 4 GiB; a job takes it all
CPUS = 2
NODE_MB = 4096
JOB_MEMORY = "3GiB"  # 1.5 GiB per worker process: a worker holding the model takes ~0.4 GiB


@dataclasses.dataclass
class Slurm:
    root: Path
    conf: Path
    env: dict[str, str]

    def run(self, *args: str) -> str:
        done = subprocess.run(list(args), env=self.env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, f"{args}: {done.stderr}"
        return done.stdout

    def jobs(self) -> dict[str, str]:
        """Every job the controller remembers: id -> state (finished ones included)."""
        out = self.run(_program("scontrol"), "-o", "show", "job")
        states = {}
        for line in out.splitlines():
            fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
            if "JobId" in fields:
                states[fields["JobId"]] = fields["JobState"]
        return states

    def queued(self) -> list[str]:
        """Jobs pending, running or completing (``squeue``)."""
        return self.run(_program("squeue"), "-h", "-o", "%i %T").split()[1::2]

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n" + p.read_text(errors="replace")[-3000:]
                         for p in sorted((self.root / "log").glob("*")) if p.is_file())


def _program(name: str) -> str:
    return shutil.which(name, path=SEARCH) or name


def until(condition: Callable[[], object], seconds: float, what: str,
          explain: Callable[[], str] = lambda: "") -> object:
    """Poll ``condition`` until it is true; fail naming ``what`` after ``seconds``."""
    end = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {seconds:.0f} s\n{explain()}")
        time.sleep(0.2)


def _need_slurm() -> None:
    missing = [p for p in PROGRAMS if shutil.which(p, path=SEARCH) is None]
    reason = ""
    if missing:
        reason = ("the SLURM test needs a local Slurm and MUNGE: apt-get install "
                  f"slurm-wlm munge (missing: {', '.join(missing)})")
    elif os.geteuid() != 0:
        reason = "the SLURM test starts slurmd, which runs jobs as their user: run it as root"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason + "; .ci/run installs them and runs as root")
        pytest.skip(reason)


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slurm]:
    _need_slurm()
    root = tmp_path_factory.mktemp("slurm")
    for sub in ("munge", "state", "spool", "log"):
        (root / sub).mkdir()
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    munge_socket = root / "munge" / "munge.socket"
    ctld_port, slurmd_port = _free_ports(2)
    conf = root / "slurm.conf"
    conf.write_text(SLURM_CONF.format(
        root=root, munge_socket=munge_socket, ctld_port=ctld_port, slurmd_port=slurmd_port,
        user=getpass.getuser(), cpus=CPUS, memory_mb=NODE_MB))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_"))}
    env["SLURM_CONF"] = str(conf)
    cluster = Slurm(root, conf, env)
    daemons: list[subprocess.Popen[bytes]] = []
    try:
        # --force: pytest's temporary folders are private (0700), which munged's check of
        # the socket's parent folders would refuse; nothing else reaches this socket
        daemons.append(_start([
            _program("munged"), "--foreground", "--force", f"--socket={munge_socket}",
            f"--key-file={key}", f"--pid-file={root / 'munge' / 'munged.pid'}",
            f"--log-file={root / 'log' / 'munged.log'}",
            f"--seed-file={root / 'munge' / 'munged.seed'}"], root / "log" / "munged.out",
            env))

        def munge_answers() -> bool:
            return munge_socket.exists() and subprocess.run(
                [_program("munge"), "-n", "-S", str(munge_socket)], capture_output=True,
                timeout=20).returncode == 0

        until(munge_answers, 30, "munged answers on its socket", cluster.logs)
        daemons.append(_start([_program("slurmctld"), "-D", "-f", str(conf)],
                              root / "log" / "slurmctld.out", env))
        daemons.append(_start([_program("slurmd"), "-D", "-f", str(conf), "-N", "localhost"],
                              root / "log" / "slurmd.out", env))

        def node_idle() -> bool:
            for proc in daemons:
                assert proc.poll() is None, f"{proc.args[0]} exited\n{cluster.logs()}"
            done = subprocess.run([_program("sinfo"), "-h", "-N", "-n", "localhost", "-o",
                                   "%T"], env=env, capture_output=True, text=True, timeout=20)
            return done.returncode == 0 and done.stdout.strip() == "idle"

        until(node_idle, 90, "the Slurm node idle in sinfo", cluster.logs)
        yield cluster
    finally:
        try:
            if len(daemons) == 3 and all(p.poll() is None for p in daemons):
                subprocess.run([_program("scancel"), "--user", getpass.getuser()], env=env,
                               capture_output=True, timeout=60)
                until(lambda: not cluster.queued(), 60, "every job gone from squeue")
        finally:
            for proc in reversed(daemons):
                _stop(proc)


def jobqueue_env(slurm: Slurm, where: Path, **changes: str | None) -> dict[str, str]:
    """The sweep's environment: one job of 2 single-threaded workers on the node's 2 CPUs,
    scheduler and workers on the loopback interface, logs and scratch in ``where``."""
    env = {k: v for k, v in slurm.env.items() if not k.startswith("DASK_")}
    settings = {
        "CORES": str(CPUS), "PROCESSES": str(CPUS), "MEMORY": JOB_MEMORY, "QUEUE": "debug",
        "WALLTIME": "00:15:00", "INTERFACE": "lo", "PYTHON": sys.executable,
        "LOG_DIRECTORY": str(where / "jobs"), "LOCAL_DIRECTORY": str(where / "scratch"),
        "DEATH_TIMEOUT": "30",
        "SCHEDULER_OPTIONS": '{"dashboard_address": "127.0.0.1:0"}',
    }
    settings.update({k.upper(): v for k, v in changes.items()})
    env.update({f"DASK_JOBQUEUE__SLURM__{k}": v for k, v in settings.items() if v is not None})
    env["DASK_CONFIG"] = str(where / "dask-config")  # not the developer's ~/.config/dask
    env["COLUMNS"] = "200"
    return env


def sweep(where: Path, env: dict[str, str], *options: str,
          timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RESURGENCE, "sweep", "exp.toml", *options], cwd=where, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_a_sweep_on_slurm_gives_the_local_pools_results_bit_for_bit(slurm: Slurm,
                                                                     tmp_path: Path):
    experiment(tmp_path)  # 2 points x 2 policies x 2 replications, 40 ticks of a 20x20 grid
    before = set(slurm.jobs())
    on_slurm = sweep(tmp_path, jobqueue_env(slurm, tmp_path), "--cluster", "slurm",
                     "--jobs", "1", "--out", "slurm")
    assert on_slurm.returncode == 0, on_slurm.stdout + on_slurm.stderr + slurm.logs()
    assert "8 runs: 0 done before, 8 ran, 0 failed" in on_slurm.stdout, on_slurm.stdout
    assert "Dask on 1 slurm job(s) through dask-jobqueue" in on_slurm.stderr
    local = sweep(tmp_path, {**os.environ, "COLUMNS": "200"}, "--workers", "2",
                  "--out", "local")
    assert local.returncode == 0, local.stderr
    a, b = everything(tmp_path / "local"), everything(tmp_path / "slurm")
    assert len(a[0]) == 8 and len(a[1]) == 8 * 41
    pd.testing.assert_frame_equal(a[0], b[0])  # outcomes of every design row
    pd.testing.assert_frame_equal(a[1], b[1])  # every run's per-tick rows

    # the runs ran in the job's two workers, which reached the scheduler on 127.0.0.1
    jobs = {j: s for j, s in slurm.jobs().items() if j not in before}
    assert len(jobs) == 1, jobs
    (job,) = jobs
    log = (tmp_path / "jobs" / f"dask-worker-{job}.err").read_text()
    assert log.count("Registered to:") == 2 and "tcp://127.0.0.1:" in log, log
    # the job ended with the sweep (cancelled, or finished as its workers closed), not at
    # its wall time
    until(lambda: not slurm.queued(), 60, "the job gone from the queue")
    assert slurm.jobs()[job] in {"CANCELLED", "COMPLETED"}, slurm.jobs()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_sweep_ended_by_a_signal_cancels_its_jobs_a_pending_one_too(
        slurm: Slurm, tmp_path: Path, sig: signal.Signals):
    """The batch system ends a sweep by SIGTERM (its own wall time) and a closed login session
    by SIGHUP: the sweep cancels its jobs, the one still waiting for the node included (it
    would otherwise start later and wait for a scheduler that is gone)."""
    experiment(tmp_path)
    # runs of some 20 s (160x160, 20,000 ticks): the sweep is mid-run when it is stopped
    big = SCENARIO.format(ticks=20000).replace("width = 20", "width = 160")
    (tmp_path / "scenario.toml").write_text(big.replace("height = 20", "height = 160"))
    before = set(slurm.jobs())
    with open(tmp_path / "out.txt", "wb") as out, open(tmp_path / "err.txt", "wb") as err:
        proc = subprocess.Popen([RESURGENCE, "sweep", "exp.toml", "--cluster", "slurm",
                                 "--jobs", "2", "--out", "out"], cwd=tmp_path,
                                env=jobqueue_env(slurm, tmp_path), stdout=out, stderr=err,
                                start_new_session=True)
    try:
        def one_running_one_pending() -> bool:
            assert proc.poll() is None, (tmp_path / "err.txt").read_text()
            states = sorted(s for j, s in slurm.jobs().items() if j not in before)
            return states == ["PENDING", "RUNNING"]

        until(one_running_one_pending, 120, "one job running, the other pending",
              slurm.logs)
        logs = tmp_path / "jobs"
        until(lambda: any("Registered to:" in p.read_text() for p in logs.glob("*.err")), 120,
              "a worker of the running job registered with the sweep's scheduler")
        proc.send_signal(sig)
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    err = (tmp_path / "err.txt").read_text()
    assert code == 128 + sig, err
    assert "Traceback" not in err, err
    jobs = {j: s for j, s in slurm.jobs().items() if j not in before}
    assert sorted(jobs.values()) == ["CANCELLED", "CANCELLED"], jobs
    until(lambda: not slurm.queued(), 60, "the jobs gone from the queue")


@pytest.mark.parametrize("changes,expected", [
    ({"cores": None, "memory": None},
     "needs the size of one job: set jobqueue.slurm.cores and jobqueue.slurm.memory"),
    ({"queue": "nope"}, "sbatch refused the job: invalid partition specified: nope"),
    ({"memory": "100GiB"}, "sbatch refused the job: Memory specification can not be "
                           "satisfied"),
])
def test_a_job_slurm_refuses_is_one_message_and_nothing_written(
        slurm: Slurm, tmp_path: Path, changes: dict[str, str | None], expected: str):
    experiment(tmp_path)
    before = set(slurm.jobs())
    done = sweep(tmp_path, jobqueue_env(slurm, tmp_path, **changes), "--cluster", "slurm",
                 "--out", "out", timeout=120)
    output = one_error(done.returncode, done.stdout + done.stderr)
    assert expected in output
    assert not (tmp_path / "out").exists()
    assert not [s for j, s in slurm.jobs().items() if j not in before and s != "FAILED"]
    assert not slurm.queued()
