"""A development mail server: accepts every message over real SMTP and stores it as a ``.eml``
file, so nothing leaves the machine and ``/dev/mailbox`` can show what was sent.

    python -m regional_loket.dev.mailsink --port 8025 --dir instance/mailbox

``make run`` starts it when no SMTP_HOST is set.
"""

from __future__ import annotations

import argparse
import secrets
import signal
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller


class MailboxHandler:
    """aiosmtpd handler writing each accepted message to ``directory``."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        self.store(envelope.mail_from, envelope.rcpt_tos, envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"

    def store(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> Path:
        # Time first in the name: the newest message sorts last, whatever the clock of the sender.
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}.eml"
        envelope = (f"X-Envelope-From: {mail_from}\r\n"
                    f"X-Envelope-To: {', '.join(rcpt_tos)}\r\n").encode()
        # Written aside, then renamed: the mailbox page never reads half a message.
        partial = self.directory / f".{name}.partial"
        partial.write_bytes(envelope + content)
        return partial.replace(self.directory / name)


def start(directory: str | Path, *, host: str = "127.0.0.1", port: int = 8025) -> Controller:
    # A fixed greeting name: the default (socket.getfqdn) can wait seconds on a resolver.
    controller = Controller(MailboxHandler(directory), hostname=host, port=port,
                            server_hostname="mailsink.localhost")
    controller.start()
    return controller


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Development SMTP server storing .eml files.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", default="instance/mailbox", help="where the .eml files go")
    options = parser.parse_args(argv)

    # Block the signals before the server thread starts, so only sigwait below receives them.
    stop = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)
    controller = start(options.dir, host=options.host, port=options.port)
    print(f"mail sink: smtp://{options.host}:{options.port} → {Path(options.dir).resolve()}", flush=True)
    try:
        signal.sigwait(stop)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
