"""`kefu mail-in`: the mail server pipes one message to standard input; it is filed as a ticket.

Exit codes follow sysexits.h, which mail servers (Postfix, Exim, sendmail) understand:
0 filed (the ticket number is printed), 65 EX_DATAERR the message is not a readable email (the
server bounces it), 75 EX_TEMPFAIL the database cannot be reached (the server keeps the message
and tries again later). Either way nothing is half-written: the filing is one transaction.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

EX_DATAERR = 65
EX_NOINPUT = 66
EX_TEMPFAIL = 75


class Command(BaseCommand):
    # call_command("mail_in", stdin=...) hands a message over without a pipe.
    stealth_options = ("stdin",)
    help = "Read one email from standard input (as a mail server pipe) and file it as a ticket."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--file", help="read the message from this file instead of standard input", default=None
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from kefu.core.errors import DomainError
        from kefu.tickets.mail_services import mail_receive

        raw: bytes | str
        if options.get("file"):
            try:
                with open(options["file"], "rb") as handle:
                    raw = handle.read()
            except OSError as exc:
                raise CommandError(
                    f"mail-in: cannot read {options['file']}: {exc}", returncode=EX_NOINPUT
                ) from exc
        else:
            stream = options.get("stdin") or sys.stdin
            raw = getattr(stream, "buffer", stream).read()
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            receipt = mail_receive(raw=raw)
        except DomainError as exc:
            raise CommandError(f"mail-in: {exc.message}", returncode=EX_DATAERR) from exc
        except DatabaseError as exc:
            raise CommandError(f"mail-in: try again later: {exc}", returncode=EX_TEMPFAIL) from exc
        if receipt.duplicate:
            note = "already filed"
        elif receipt.created:
            note = "new ticket"
        else:
            note = "added to the ticket"
        self.stdout.write(f"{receipt.ticket.number} ({note})")
