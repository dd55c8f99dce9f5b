"""Secure send from real Thunderbird vs a plain send of the same message and vs the helper
alone, same run.

Time from `compose.sendMessage` (taken in the driver extension) to the SMTP sink's receipt
of the mail, for a message with a 25 MiB attachment (`--mib N`): sent securely (encrypted,
uploaded, the stub over SMTP) and sent plainly (the whole message over SMTP) by the same
Thunderbird, alternating, several rounds; and the same message as an .eml sent by
`sealpost-helper send` (the helper's own speed, no Thunderbird). Peak resident memory of
Thunderbird's processes and the helper's is sampled during each send. Prints medians, MiB/s
and the ratios secure / plain (target <= 1.0) and Thunderbird / helper alone.

    scripts/with-keyring target/pyenv/bin/python bench/thunderbird.py [--quick] [--rounds N]
        [--mib N] [--secure-only]

Uses the release binaries (SEALPOST_BIN_DIR, default target/release); `--quick` sends 1 MiB
once each, to check the benchmark still runs; `--secure-only` leaves out the plain send
(Thunderbird's own send of 200 MiB takes over ten minutes).
"""

import argparse
import email.message
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("SEALPOST_BIN_DIR", str(ROOT / "target" / "release"))
sys.path.insert(0, str(ROOT / "tests"))

from harness import ALICE, World, wait_until  # noqa: E402

# Attachments alone do not secure a message: the plain send stays plain.
POLICY = {"secure_attachments": False, "subject_keywords": [], "dlp_patterns": []}
RECIPIENT = "dave@acme.example"


def descendants(root: int) -> list[int]:
    """`root` and every process below it (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Memory:
    """Samples resident memory every 20 ms while a send runs: Thunderbird's processes (the
    main one and its content and extension processes, summed) and the helper's."""

    def __init__(self, thunderbird_pid: int):
        self.root = thunderbird_pid
        self.peak = {"thunderbird": 0, "helper": 0}
        self.start = self.sample()
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def sample(self) -> dict[str, int]:
        now = {"thunderbird": 0, "helper": 0}
        for pid in descendants(self.root):
            try:
                comm = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                continue
            now["helper" if comm.startswith("sealpost-helpe") else "thunderbird"] += rss_kib(pid)
        return now

    def run(self):
        while self.running:
            for k, v in self.sample().items():
                self.peak[k] = max(self.peak[k], v)
            time.sleep(0.02)

    def stop(self) -> str:
        self.running = False
        self.thread.join()
        mib = lambda kib: kib / 1024  # noqa: E731
        return (f"peak RSS growth: Thunderbird {mib(self.peak['thunderbird'] - self.start['thunderbird']):.0f} MiB"
                f" (of {mib(self.peak['thunderbird']):.0f}), helper {mib(self.peak['helper']):.0f} MiB"
                f" (from {mib(self.start['helper']):.0f})")


def one_send(world, secure: bool, size: int, round_: int) -> float:
    control = world.control
    before = world.sink.count()
    tab = control.call("compose", to=[RECIPIENT], subject=f"Bench {round_} {'secure' if secure else 'plain'}",
                       text="Figures attached.", attachments=[{"name": "figures.bin"}])["tab"]
    wanted = "Secure: off"
    wait_until("the button", lambda: control.call("button", tab=tab)["label"] == wanted, 30, 0.25)
    if secure:
        control.call("click_toggle", tab=tab)
        wait_until("the toggle", lambda: control.call("button", tab=tab)["label"] == "Secure: on", 30, 0.25)
    memory = Memory(world.thunderbird.proc.pid)
    result = control.call("send", timeout=600, tab=tab)
    print(f"  {'secure' if secure else 'plain'} send, {memory.stop()}", flush=True)
    assert result["sent"], result
    got = world.sink.wait_for(before + 1, timeout=600)
    assert (got.message["X-Sealpost-Message-Id"] is not None) == secure
    if not secure:
        assert len(got.raw) > size, "the plain send carried the attachment"
    return got.at - result["t0"] / 1000


def helper_alone_message(world, data: bytes) -> Path:
    """The same message as an .eml for `sealpost-helper send`: the baseline without Thunderbird."""
    m = email.message.EmailMessage()
    m["From"], m["To"], m["Subject"] = ALICE, RECIPIENT, "Bench helper alone"
    m.set_content("Figures attached.")
    m.add_attachment(data, maintype="application", subtype="octet-stream", filename="figures.bin")
    path = world.workdir / "helper-alone.eml"
    path.write_bytes(m.as_bytes())
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mib", type=int, default=25, help="the attachment's size in MiB")
    parser.add_argument("--secure-only", action="store_true",
                        help="no plain send (Thunderbird's own send of 200 MiB takes over 10 minutes)")
    args = parser.parse_args()
    size = (1 if args.quick else args.mib) * 1024 * 1024
    rounds = 1 if args.quick else args.rounds
    world = World.start(POLICY)
    try:
        data = os.urandom(size)
        world.control.files["figures.bin"] = data
        eml = helper_alone_message(world, data)
        times = {True: [], False: [], "helper": []}
        for r in range(rounds):
            for secure in (True,) if args.secure_only else (False, True):
                t = one_send(world, secure, size, r)
                times[secure].append(t)
                print(f"round {r + 1}: {'secure' if secure else 'plain '} {t:6.2f} s", flush=True)
            t0 = time.monotonic()
            world.desk.helper("send", str(eml))
            times["helper"].append(time.monotonic() - t0)
            print(f"round {r + 1}: helper alone {times['helper'][-1]:6.2f} s", flush=True)
        secure, alone = statistics.median(times[True]), statistics.median(times["helper"])
        print(f"\nsecure send of a {size >> 20} MiB attachment (median of {rounds}):")
        print(f"  from Thunderbird  {secure:6.2f} s  {size / secure / 2**20:6.1f} MiB/s end to end"
              " (sendMessage -> the stub at the SMTP sink)")
        print(f"  helper alone      {alone:6.2f} s  {size / alone / 2**20:6.1f} MiB/s"
              " (`sealpost-helper send` of the same message as an .eml)")
        print(f"  ratio Thunderbird/helper alone {secure / alone:.2f}")
        if args.secure_only:
            return
        plain = statistics.median(times[False])
        print(f"\nThunderbird send of a {size >> 20} MiB attachment, sendMessage -> SMTP sink "
              f"(median of {rounds}):")
        print(f"  plain  {plain:6.2f} s   (the whole message over SMTP)")
        print(f"  secure {secure:6.2f} s   (encrypt + upload to the platform + the stub over SMTP)")
        print(f"  ratio secure/plain {secure / plain:.2f}  (target <= 1.0)")
    finally:
        world.stop()


if __name__ == "__main__":
    main()
