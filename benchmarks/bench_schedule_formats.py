"""Benchmark: twin's MS Project XML / P6 XML / CSV readers and writers beside MPXJ (Java).

Run from the project root:

    .venv/bin/python benchmarks/bench_schedule_formats.py

Needs ``mpxj`` and ``jpype1`` (dev extras) and a Java runtime. MPXJ reads the real HS2 P6 programme
(3,994 activities, 5,966 links) from ../shared and writes it as MS Project XML and P6 XML into a
temporary folder (the XER itself may not be copied into the project). Then, in this one process run,
for each file: our reader and MPXJ's ``UniversalProjectReader``, best of 3 wall-clock seconds
(the JVM is warmed up first), with the activity and link counts each side found; then writing MS
Project XML: ours (``write_mspdi``) and MPXJ's ``UniversalProjectWriter``; and our CSV round trip.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin.importers.csv import read_csv, write_csv  # noqa: E402
from twin.importers.mspdi import read_mspdi  # noqa: E402
from twin.importers.mspdi_write import write_mspdi  # noqa: E402
from twin.importers.p6xml import read_p6xml  # noqa: E402

SHARED = Path(os.environ.get("TWIN_SHARED", ROOT.parent / "shared"))
HS2 = SHARED / "samples" / "schedules" / "HS2_SP10_cost_loaded.xer"
MSP_SAMPLE = SHARED / "samples" / "schedules" / "msp_sample.xml"


def best_of(fn, n: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    try:
        import jpype
        import mpxj  # noqa: F401  (puts the MPXJ jars on the class path)
    except ImportError:
        sys.exit("needs the dev extras: pip install mpxj jpype1 (and a Java runtime)")
    if not HS2.exists():
        sys.exit(f"{HS2} is absent")
    jpype.startJVM()
    from org.mpxj.reader import UniversalProjectReader
    from org.mpxj.writer import FileFormat, UniversalProjectWriter

    def mpxj_read(path: Path):
        project = UniversalProjectReader().read(str(path))
        return project, project.getTasks().size(), sum(t.getPredecessors().size() for t in project.getTasks())

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        project, _, _ = mpxj_read(HS2)
        msp, p6 = folder / "hs2.xml", folder / "hs2_p6.xml"
        UniversalProjectWriter(FileFormat.MSPDI).write(project, str(msp))
        UniversalProjectWriter(FileFormat.PMXML).write(project, str(p6))
        mpxj_read(MSP_SAMPLE)  # warm the JVM's reader paths
        print(f"HS2 via MPXJ: MS Project XML {msp.stat().st_size / 1e6:.1f} MB, P6 XML {p6.stat().st_size / 1e6:.1f} MB")
        print(f"{'file':<28} {'ours s':>8} {'MPXJ s':>8} {'ratio':>6}  ours acts/links  MPXJ tasks/links")
        for label, path, ours in (("HS2 MS Project XML", msp, read_mspdi), ("HS2 P6 XML", p6, read_p6xml),
                                  ("msp_sample.xml (20 tasks)", MSP_SAMPLE, read_mspdi)):
            t_ours, s = best_of(lambda: ours(path))
            t_ref, (_, n_tasks, n_links) = best_of(lambda: mpxj_read(path))
            print(f"{label:<28} {t_ours:8.3f} {t_ref:8.3f} {t_ref / t_ours:6.2f}  "
                  f"{len(s.activities):>5}/{len(s.relationships):<5}      {n_tasks:>5}/{n_links}")
        schedule = read_p6xml(p6)
        t_w, _ = best_of(lambda: write_mspdi(schedule, folder / "ours.xml"))
        t_wr, _ = best_of(lambda: UniversalProjectWriter(FileFormat.MSPDI).write(project, str(folder / "mpxj.xml")))
        print(f"{'write MS Project XML (HS2)':<28} {t_w:8.3f} {t_wr:8.3f} {t_wr / t_w:6.2f}  "
              f"{(folder / 'ours.xml').stat().st_size / 1e6:.1f} MB vs {(folder / 'mpxj.xml').stat().st_size / 1e6:.1f} MB")
        t_rb, back = best_of(lambda: read_mspdi(folder / "ours.xml"))
        print(f"{'read back our MSPDI (HS2)':<28} {t_rb:8.3f} {'-':>8} {'':>6}  "
              f"{len(back.activities):>5}/{len(back.relationships)}")
        t_c, lost = best_of(lambda: write_csv(schedule, folder / "hs2.csv"))
        t_cr, csv_back = best_of(lambda: read_csv(folder / "hs2.csv", start=schedule.start,
                                                  calendars=schedule.calendars))
        print(f"{'write CSV (HS2)':<28} {t_c:8.3f} {'-':>8} {'':>6}  ({len(lost)} things CSV cannot hold, listed)")
        print(f"{'read CSV back (HS2)':<28} {t_cr:8.3f} {'-':>8} {'':>6}  "
              f"{len(csv_back.activities):>5}/{len(csv_back.relationships)}")


if __name__ == "__main__":
    main()
