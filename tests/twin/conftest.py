"""Fixtures of the digital-twin tests: a small trade-tagged schedule and progress CSVs."""
from __future__ import annotations

from pathlib import Path

import pytest

SCHEDULE = """id,name,duration_days,predecessors,start,trade,storey,zone
A,Excavate,5,,2027-03-01,earthworks,L00,Z1
B,Foundations,4,A,,concrete,L00,Z1
C,Frame,10,B,,concrete,L01,Z1
D,Services,6,B,,mep,L01,Z2
E,Finishes,8,C;D,,finishes,L01,Z2
M,Handover,0,E,,,,
"""


@pytest.fixture
def schedule_csv(tmp_path: Path) -> Path:
    p = tmp_path / "plan.csv"
    p.write_text(SCHEDULE)
    return p


@pytest.fixture
def schedule(schedule_csv):
    from twin.importers import read_schedule

    return read_schedule(schedule_csv)


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


# ------------------------------------------------------------------- a real PostgreSQL for the store

def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server():
    """A private PostgreSQL server for this test session: (host, port). Stopped and deleted at the end.

    Runs ``initdb``/``pg_ctl`` as the ``postgres`` system user when the tests run as root (the server
    refuses root), on a free port with its socket in a temp folder; trust authentication, fsync off.
    """
    import os
    import shutil
    import subprocess
    import tempfile

    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries absent (/usr/lib/postgresql/*/bin): `make system-deps` installs them")
    prefix: list[str] = []
    owner = None
    if os.geteuid() == 0:
        import pwd

        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        prefix = ["runuser", "-u", "postgres", "--"]
    root = tempfile.mkdtemp(prefix="twin-pg-", dir="/tmp")
    data, sock = os.path.join(root, "data"), os.path.join(root, "sock")
    os.makedirs(sock)
    if owner is not None:
        for d in (root, sock):
            os.chown(d, owner.pw_uid, owner.pw_gid)
    port = _free_port()
    try:
        subprocess.run(prefix + [str(bin_dir / "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync",
                                 "-E", "UTF8"], check=True, capture_output=True, text=True)
        subprocess.run(prefix + [str(bin_dir / "pg_ctl"), "-D", data, "-l", os.path.join(root, "log"), "-w", "-t", "60",
                                 "-o", f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off "
                                       f"-c full_page_writes=off -c max_connections=50",
                                 "start"], check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc.stderr or exc.stdout}")
    yield "127.0.0.1", port
    subprocess.run(prefix + [str(bin_dir / "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


_DB_COUNTER = iter(range(1, 1_000_000))


@pytest.fixture
def pg_url(pg_server):
    """A fresh, empty database on the session's server, as a SQLAlchemy URL."""
    import psycopg

    host, port = pg_server
    name = f"twin_{next(_DB_COUNTER)}"
    with psycopg.connect(host=host, port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://postgres@{host}:{port}/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """The same test against SQLite (a file) and a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'twin.sqlite'}"
    return request.getfixturevalue("pg_url")
