"""A local SMTP sink (aiosmtpd, from target/pyenv) for the platform's tests and the demo:
each message is written to OUT/<n>.eml as it arrives; recipients whose address starts with
"reject" are refused with a permanent 550; a mail to an address starting with "slow" takes two
seconds to be accepted, and while it is being received OUT/receiving/<address> exists (so a test
can stop a platform in the middle of a send). Prints "ready" once it listens; stops on SIGTERM.

    target/pyenv/bin/python scripts/smtp-sink.py --port 2525 --out /tmp/mail
"""

import argparse
import asyncio
import itertools
import pathlib
import signal

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, out: pathlib.Path):
        self.out = out
        self.numbers = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("reject"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if any(address.startswith("slow") for address in envelope.rcpt_tos):
            receiving = self.out / "receiving"
            receiving.mkdir(exist_ok=True)
            for address in envelope.rcpt_tos:
                (receiving / address).touch()
            await asyncio.sleep(2)
        path = self.out / f"{next(self.numbers):06}.eml"
        partial = path.with_suffix(".partial")
        partial.write_bytes(envelope.content)
        partial.rename(path)
        return "250 OK"


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    controller = Controller(Handler(args.out), hostname="127.0.0.1", port=args.port)
    controller.start()
    print("ready", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    controller.stop()


asyncio.run(main())
