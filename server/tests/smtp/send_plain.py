"""Sends one mail over plaintext SMTP on loopback (TIEDOKSI_SMTP_ALLOW_PLAINTEXT) and prints
the server's answer to DATA; used by the kill -9 test, which kills the server right after."""

import argparse
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
args = parser.parse_args()

mail = EmailMessage()
mail["From"] = "kirjaamo@tiedoksi.local"
mail["To"] = "311299-047R@asiointitili.fi"
mail["Subject"] = "Tapetun palvelimen viesti"
mail["Message-ID"] = make_msgid(domain="tiedoksi.local")
mail.set_content("Tämä viesti hyväksyttiin juuri ennen kuin palvelin tapettiin.")

with smtplib.SMTP("127.0.0.1", args.port, timeout=30) as smtp:
    smtp.ehlo("client.tiedoksi.local")
    smtp.mail("kirjaamo@tiedoksi.local")
    smtp.rcpt("311299-047R@asiointitili.fi")
    code, text = smtp.data(mail.as_bytes())
    print(code, text.decode())
