#!/usr/bin/env python3
"""A real SMTP server for the tests (aiosmtpd, from PyPI): every message it accepts is written to
DIR as one JSON file (envelope, Message-ID, subject, decoded plain text and HTML, raw size), so a
test reads what a customer would read. Prints "listening on PORT" once it accepts connections and
runs until it is killed.

  smtp-sink.py --dir DIR [--port PORT]

Recipients whose address contains "bounce" are refused with 550 (a permanent failure); those
containing "tempfail" with 451 (try again later); "needauth" with 530 (the server wants
credentials: a configuration problem, not the recipient's).
"""

import argparse
import email
import email.policy
import itertools
import json
import os
import signal
import socket
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "bounce" in address:
            return "550 5.1.1 no such mailbox here"
        if "tempfail" in address:
            return "451 4.3.0 try again later"
        if "needauth" in address:
            # What a relay says to a client without (or with wrong) credentials.
            return "530 5.7.0 authentication required"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "message_id": str(message.get("Message-ID", "")),
            "from": str(message.get("From", "")),
            "to": str(message.get("To", "")),
            "subject": str(message.get("Subject", "")),
            "date": str(message.get("Date", "")),
            "content_type": message.get_content_type(),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
            "size": len(envelope.content),
        }
        name = "%d-%06d.json" % (time.time_ns(), next(self.counter))
        temporary = os.path.join(self.directory, "." + name)
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(record, out, ensure_ascii=False)
        # Renamed into place, so a reader never sees half a message.
        os.rename(temporary, os.path.join(self.directory, name))
        return "250 Message accepted"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    port = args.port or free_port()
    controller = Controller(Sink(args.dir), hostname="127.0.0.1", port=port)
    controller.start()
    print("listening on %d" % port, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (controller.stop(), sys.exit(0)))
    try:
        signal.pause()
    except KeyboardInterrupt:
        controller.stop()


if __name__ == "__main__":
    main()
