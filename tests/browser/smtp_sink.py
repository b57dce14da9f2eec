"""A real SMTP server (Debian's aiosmtpd) for the browser tests: every message it receives is
written to DIR as NNNN.json ({"to": [...], "subject": …, "text": the text/plain part decoded}).
Prints "READY <port>" once it listens; runs until SIGTERM.

Usage: /usr/bin/python3 smtp_sink.py DIR
"""
import email
import email.policy
import json
import os
import signal
import socket
import sys
import threading

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        with self.lock:
            self.count += 1
            name = os.path.join(self.directory, f"{self.count:04d}.json")
        msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                       policy=email.policy.default)
        part = msg.get_body(preferencelist=("plain", "html"))
        record = {"to": list(envelope.rcpt_tos), "subject": str(msg["Subject"]),
                  "text": part.get_content() if part else ""}
        tmp = name + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, name)  # readers never see half a message
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    directory = sys.argv[1]
    os.makedirs(directory, exist_ok=True)
    controller = Controller(Handler(directory), hostname="127.0.0.1", port=free_port())
    controller.start()
    print(f"READY {controller.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
