"""Secure send from real Thunderbird vs a plain send of the same message, same run.

Time from `compose.sendMessage` (taken in the driver extension) to the SMTP sink's receipt
of the mail, for a message with a 25 MiB attachment: sent securely (encrypted, uploaded, the
stub over SMTP) and sent plainly (the whole message over SMTP) by the same Thunderbird,
alternating, several rounds. Prints medians and the ratio secure / plain (target <= 1.0).

    scripts/with-keyring target/pyenv/bin/python bench/thunderbird.py [--quick] [--rounds N]

Uses the release binaries (SEALPOST_BIN_DIR, default target/release); `--quick` sends 1 MiB
once each, to check the benchmark still runs.
"""

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("SEALPOST_BIN_DIR", str(ROOT / "target" / "release"))
sys.path.insert(0, str(ROOT / "tests"))

from harness import World, wait_until  # noqa: E402

# Attachments alone do not secure a message: the plain send stays plain.
POLICY = {"secure_attachments": False, "subject_keywords": [], "dlp_patterns": []}
RECIPIENT = "dave@acme.example"


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
    result = control.call("send", timeout=600, tab=tab)
    assert result["sent"], result
    got = world.sink.wait_for(before + 1, timeout=600)
    assert (got.message["X-Sealpost-Message-Id"] is not None) == secure
    if not secure:
        assert len(got.raw) > size, "the plain send carried the attachment"
    return got.at - result["t0"] / 1000


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
        world.control.files["figures.bin"] = os.urandom(size)
        times = {True: [], False: []}
        for r in range(rounds):
            for secure in (True,) if args.secure_only else (False, True):
                t = one_send(world, secure, size, r)
                times[secure].append(t)
                print(f"round {r + 1}: {'secure' if secure else 'plain '} {t:6.2f} s", flush=True)
        secure = statistics.median(times[True])
        print(f"\nsecure send: {size / secure / 2**20:.1f} MiB/s end to end")
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
