"""Mail clients nobody on the team wrote (Python's smtplib and email) against the SMTP bridge.

Run by `server/tests/api/smtp.rs`, which starts Tiedoksi with the bridge on, reads the JSON this
prints, and checks what became of each mail (notices, Suomi.fi messages). Every case sends the
way a mail server or a case system would and records the server's answer:

    python3 clients.py --port N --cafile cert.pem [--case NAME ...]
    python3 clients.py --port N --cafile cert.pem --raw-dir DIR

Each output line is one case: {"case": ..., "code": ..., "message": ..., "message_id": ...}.
`--raw-dir` sends every `*.eml` in DIR (sorted by name) byte for byte, as a mail server relays
what it was given (the bad-input corpus' `mail/` cases); each line then also says at which
`stage` the answer came (`connect`, `mail`, `rcpt`, `data`), and a dropped connection is code 0.
"""

import argparse
import io
import json
import os
import smtplib
import ssl
import sys
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid

SENDER = "kirjaamo@tiedoksi.local"
# Valid identity codes with an odd individual number (not a 900–999 test code): the
# simulator gives them a mailbox.
MAIJA = "311299-047R"
MATTI = "150570-221W"
NO_MAILBOX = "131052-308T"  # even individual number: no active mailbox
DOMAIN = "asiointitili.fi"


def pdf(size=2000):
    body = b"%PDF-1.7\n" + b" " * size + b"\n%%EOF\n"
    return body


def message(subject, to, text=None, html=None, sender=SENDER):
    mail = EmailMessage()
    mail["From"] = f"Kirjaamo <{sender}>"
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = make_msgid(domain="tiedoksi.local")
    if text is not None:
        mail.set_content(text)
    if html is not None:
        if text is None:
            mail.set_content(html, subtype="html")
        else:
            mail.add_alternative(html, subtype="html")
    return mail


def raw_headers(raw):
    """A raw mail's header fields as (lower-case name, value), unfolded, values read as UTF-8.

    Empty when the mail opens with an empty line (it has no header then)."""
    fields = []
    for line in io.BytesIO(raw):
        line = line.rstrip(b"\n").rstrip(b"\r")
        if line == b"":
            break
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + line)
            continue
        name, colon, value = line.partition(b":")
        if colon:
            fields.append((name, value))
    return [
        (name.strip().decode("ascii", "replace").lower(), value.strip().decode("utf-8", "replace"))
        for name, value in fields
    ]


def raw_header(raw, name):
    """The last `name` header's value, or None."""
    values = [value for field, value in raw_headers(raw) if field == name]
    return values[-1] if values else None


def envelope_recipients(raw):
    """The addresses the mail's To headers give, as written there (a quoted local part stays
    quoted); MAIJA's when To names none (missing, a group, unparseable)."""
    to = [value for field, value in raw_headers(raw) if field == "to"]
    found = [address for _, address in getaddresses(to) if "@" in address]
    return found or [f"{MAIJA}@{DOMAIN}"]


def text_of(reply):
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class Client:
    def __init__(self, port, cafile):
        self.port = port
        self.context = ssl.create_default_context(cafile=cafile)

    def connect(self, tls=True):
        smtp = smtplib.SMTP("localhost", self.port, timeout=30)
        smtp.ehlo("client.tiedoksi.local")
        if tls:
            # Verifies the bridge's certificate against the one it was started with.
            smtp.starttls(context=self.context)
            smtp.ehlo("client.tiedoksi.local")
        return smtp

    def send(self, mail, tls=True, from_addr=SENDER, to_addrs=None):
        """The server's answer that ended the transaction: (code, text).

        The steps smtplib's send_message takes (SIZE when offered, MAIL, RCPT, DATA), taken one
        by one so that the answer to DATA, not only its code, is seen.
        """
        smtp = self.connect(tls)
        try:
            if to_addrs is None:
                to_addrs = [address for _, address in getaddresses(mail.get_all("To", []))]
            data = mail.as_bytes()
            options = [f"SIZE={len(data)}"] if smtp.has_extn("size") else []
            if smtp.has_extn("8bitmime"):
                options.append("BODY=8BITMIME")
            code, text = smtp.mail(from_addr, options)
            if code != 250:
                return code, text.decode()
            for address in to_addrs:
                code, text = smtp.rcpt(address)
                if code not in (250, 251):
                    return code, text.decode()
            code, text = smtp.data(data)
            return code, text.decode()
        except smtplib.SMTPDataError as error:
            return error.smtp_code, error.smtp_error.decode()
        finally:
            try:
                smtp.quit()
            except smtplib.SMTPServerDisconnected:
                pass

    def send_raw(self, raw, to_addrs):
        """(stage, code, text) of the answer that ended the transaction, for a mail sent byte
        for byte (only dot-stuffed). A connection that drops or cannot be made is code 0."""
        stage = "connect"
        smtp = None
        try:
            smtp = self.connect()
            options = [f"SIZE={len(raw)}"] if smtp.has_extn("size") else []
            if smtp.has_extn("8bitmime"):
                options.append("BODY=8BITMIME")
            if not all(address.isascii() for address in to_addrs) and smtp.has_extn("smtputf8"):
                options.append("SMTPUTF8")
            stage = "mail"
            code, text = smtp.mail(SENDER, options)
            if code != 250:
                return stage, code, text_of(text)
            stage = "rcpt"
            for address in to_addrs:
                # As To writes it: smtplib's rcpt() would take the quotes off a local part.
                code, text = smtp.docmd("RCPT", f"TO:<{address}>")
                if code not in (250, 251):
                    return stage, code, text_of(text)
            stage = "data"
            code, text = smtp.data(raw)
            return stage, code, text_of(text)
        except smtplib.SMTPResponseException as error:
            return stage, error.smtp_code, text_of(error.smtp_error)
        except (smtplib.SMTPException, OSError, UnicodeError) as error:
            # Disconnected, reset, timed out, TLS failed: no answer to report.
            return stage, 0, f"{type(error).__name__}: {error}"
        finally:
            if smtp is not None:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    pass


def send_raw_dir(client, directory):
    """Each `*.eml` of `directory`, sorted by name: one JSON line per file."""
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if not name.endswith(".eml") or not os.path.isfile(path):
            continue
        with open(path, "rb") as file:
            raw = file.read()
        stage, code, text = client.send_raw(raw, envelope_recipients(raw))
        print(json.dumps({
            "case": name,
            "code": code,
            "message": text,
            "message_id": raw_header(raw, "message-id"),
            "stage": stage,
        }, ensure_ascii=False))
        sys.stdout.flush()


def case_finnish(client):
    mail = message(
        "Päätös: äitiysavustus – hakemus 2026/123",
        f"Maija Meikäläinen <{MAIJA}@{DOMAIN}>",
        text="Hei,\n\nliitteenä päätös hakemukseenne.\n\nYstävällisin terveisin\nKirjaamo\n",
    )
    mail.add_attachment(pdf(), maintype="application", subtype="pdf", filename="päätös – äitiysavustus.pdf")
    return mail, client.send(mail)


def case_html_only(client):
    mail = message(
        "Tarkastuskertomus",
        f"{MAIJA}@{DOMAIN}",
        html="<html><body><p>Tarkastus <b>tehty</b> 1.12.2026.</p><p>Terveisin kirjaamo</p></body></html>",
    )
    return mail, client.send(mail)


def case_alternative(client):
    mail = message(
        "Kutsu kuulemiseen",
        f"{MAIJA}@{DOMAIN}",
        text="Teidät kutsutaan kuultavaksi 15.12.2026.",
        html='<p>Teidät kutsutaan kuultavaksi 15.12.2026.</p><img src="cid:logo">',
    )
    # The signature logo an Outlook-style client puts inline: not a document of the notice.
    html_part = mail.get_payload()[1]
    html_part.add_related(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, maintype="image", subtype="png", cid="<logo>")
    return mail, client.send(mail)


def case_long_subject(client):
    subject = "Päätös " + "hyvin pitkä otsikko " * 15
    subject = subject[:300]
    mail = message(subject, f"{MAIJA}@{DOMAIN}", text="Pitkän otsikon viesti.")
    return mail, client.send(mail)


def case_invalid_code(client):
    mail = message("Virheellinen tunnus", f"010280-952X@{DOMAIN}", text="x")
    return mail, client.send(mail)


def case_no_tls(client):
    mail = message("Ilman salausta", f"{MAIJA}@{DOMAIN}", text="x")
    return mail, client.send(mail, tls=False)


def case_wrong_sender_domain(client):
    mail = message("Väärä lähettäjä", f"{MAIJA}@{DOMAIN}", text="x", sender="someone@gmail.example")
    return mail, client.send(mail, from_addr="someone@gmail.example")


def case_wrong_from_header(client):
    mail = message("Väärä From", f"{MAIJA}@{DOMAIN}", text="x", sender="someone@gmail.example")
    return mail, client.send(mail, from_addr=SENDER)


def case_two_recipients(client):
    mail = message(
        "Kahdelle vastaanottajalle",
        f"Maija <{MAIJA}@{DOMAIN}>, Matti <{MATTI}@{DOMAIN}>",
        text="Sama päätös molemmille.",
    )
    return mail, client.send(mail)


def case_twice(client):
    mail = message("Sama viesti kahdesti", f"{MATTI}@{DOMAIN}", text="Lähetetään kahdesti.")
    first = client.send(mail)
    second = client.send(mail)
    return mail, (second[0] if first[0] == 250 else first[0], f"{first[1]} | {second[1]}")


def case_no_mailbox(client):
    mail = message("Ei postilaatikkoa", f"{NO_MAILBOX}@{DOMAIN}", text="Tämä ei mene perille.")
    return mail, client.send(mail)


def case_too_big(client):
    mail = message("Liian suuri", f"{MAIJA}@{DOMAIN}", text="x")
    mail.add_attachment(pdf(12 * 1024 * 1024), maintype="application", subtype="pdf", filename="iso.pdf")
    return mail, client.send(mail)


def case_tnef(client):
    mail = message("Outlookin liite", f"{MAIJA}@{DOMAIN}", text="Liitteenä päätös.")
    mail.add_attachment(b"\x78\x9f\x3e\x22" + b"\x00" * 64, maintype="application", subtype="ms-tnef", filename="winmail.dat")
    return mail, client.send(mail)


def case_one_unreachable(client):
    mail = message(
        "Toinen ei tavoitettavissa",
        f"Maija <{MAIJA}@{DOMAIN}>, {NO_MAILBOX}@{DOMAIN}",
        text="Päätös kahdelle, joista toisella ei ole postilaatikkoa.",
    )
    return mail, client.send(mail)


def case_signed(client):
    mail = message("Allekirjoitettu ilmoitus", f"{MAIJA}@{DOMAIN}", text="Allekirjoitettu viesti.")
    mail.add_attachment(b"0\x82\x01\x00" + b"\x00" * 64, maintype="application", subtype="pkcs7-signature", filename="smime.p7s")
    return mail, client.send(mail)


def case_three_recipients(client):
    mail = message(
        "Kolmelle",
        f"{MAIJA}@{DOMAIN}, {MATTI}@{DOMAIN}, {NO_MAILBOX}@{DOMAIN}",
        text="Kolme vastaanottajaa.",
    )
    return mail, client.send(mail)


def case_cc(client):
    mail = message("Kopio", f"{MAIJA}@{DOMAIN}", text="x")
    mail["Cc"] = "esimies@tiedoksi.local"
    return mail, client.send(mail, to_addrs=[f"{MAIJA}@{DOMAIN}"])


def answer(client, forwarded_id):
    """An official answers a forwarded citizen message from their mail client: Re: subject,
    threaded to it, the original quoted below (its "Viestin tiedot" block included)."""
    mail = message(
        "Re: Kysymys päätöksestä",
        f"Maija Meikäläinen <{MAIJA}@{DOMAIN}>",
        text=(
            "Kiitos kysymyksestä. Oikaisua voi hakea sähköisesti.\n\n"
            "> Voinko hakea oikaisua sähköisesti?\n"
            "> \n"
            "> -- \n"
            "> Viestin tiedot\n"
            "> Lähettäjä: Maija Meikäläinen\n"
            f"> Henkilötunnus: {MAIJA}\n"
            "> Suomi.fi-viestin tunnus: 900001\n"
            "> Lähetetty: 30.11.2026 9.15\n"
        ),
        sender="neuvonta@tiedoksi.local",
    )
    mail["In-Reply-To"] = forwarded_id
    mail["References"] = forwarded_id
    return mail, client.send(mail, from_addr="neuvonta@tiedoksi.local")


CASES = {
    name[len("case_"):]: function
    for name, function in sorted(globals().items())
    if name.startswith("case_")
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--case", action="append", choices=sorted(CASES))
    parser.add_argument("--answer", help="answer the forwarded citizen message with this Message-ID")
    parser.add_argument("--raw-dir", help="send every *.eml in this directory as it is")
    args = parser.parse_args()
    client = Client(args.port, args.cafile)
    if args.raw_dir:
        send_raw_dir(client, args.raw_dir)
        return
    if args.answer:
        mail, (code, text) = answer(client, args.answer)
        print(json.dumps({"case": "answer", "code": code, "message": text, "message_id": mail["Message-ID"], "subject": mail["Subject"]}, ensure_ascii=False))
        return
    for name in args.case or sorted(CASES):
        mail, (code, text) = CASES[name](client)
        print(json.dumps({
            "case": name,
            "code": code,
            "message": text,
            "message_id": mail["Message-ID"],
            "subject": mail["Subject"],
        }, ensure_ascii=False))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
