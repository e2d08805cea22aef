"""An SMTP sink from a registry (aiosmtpd) standing in for an organisation's mail server: it
receives the bridge's reports over STARTTLS and reads each with Python's own `email` parser,
so our mail-builder output is checked by code nobody here wrote.

    python sink.py --cert cert.pem --key key.pem --out received.jsonl

Prints "port N" when listening; appends one JSON line per mail received.
"""

import argparse
import asyncio
import email
import email.policy
import json
import socket
import ssl
import sys

from aiosmtpd.controller import Controller


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def summary(envelope):
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    parts = list(message.iter_parts()) if message.is_multipart() else []
    status_blocks = []
    for part in parts:
        if part.get_content_type() == "message/delivery-status":
            # The parser reads a delivery-status body as a list of header blocks.
            for block in part.get_payload():
                status_blocks.append({key: str(value) for key, value in block.items()})
    human = ""
    if parts and parts[0].get_content_type() == "text/plain":
        human = parts[0].get_content()
    return {
        "mail_from": envelope.mail_from,
        "rcpt_tos": envelope.rcpt_tos,
        "content_type": message.get_content_type(),
        "report_type": message.get_param("report-type"),
        "parts": [part.get_content_type() for part in parts],
        "delivery_status": status_blocks,
        "human": human,
        "subject": str(message["Subject"]),
        "in_reply_to": str(message["In-Reply-To"] or ""),
        "status": str(message["X-Tiedoksi-Status"] or ""),
        "message_id": str(message["Message-ID"] or ""),
        "attachments": [part.get_filename() for part in message.iter_attachments()]
        if message.get_content_type() == "multipart/mixed"
        else [],
        "from": str(message["From"] or ""),
        "text": message.get_body(preferencelist=("plain",)).get_content()
        if not message.is_multipart() or message.get_content_type() != "multipart/report"
        else "",
        "auto_submitted": str(message["Auto-Submitted"] or ""),
        "defects": [type(defect).__name__ for defect in message.defects],
    }


class Handler:
    def __init__(self, out):
        self.out = out

    async def handle_DATA(self, server, session, envelope):
        with open(self.out, "a", encoding="utf-8") as out:
            out.write(json.dumps(summary(envelope), ensure_ascii=False) + "\n")
        return "250 OK"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    port = free_port()
    controller = Controller(
        Handler(args.out),
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        server_hostname="localhost",
    )
    controller.start()
    print(f"port {port}", flush=True)
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
