"""City of Helsinki's open-source Suomi.fi Messages client, unchanged, against our simulator.

Proves the simulator serves a correct client of the real API other than ours: it sends the
bare token, no part Content-Type on uploads, and reads `expires_in`/`token_type`.
"""

import os
import sys

from django.conf import settings

settings.configure(
    SUOMIFI_USERNAME="sim-user",
    SUOMIFI_PASSWORD="sim-password",
    SUOMIFI_SERVICE_ID="sim-service",
    SUOMIFI_POSTI_EMAIL="posti@kunta.example.fi",
    SUOMIFI_POSTI_USERNAME="123456",
    SUOMIFI_POSTI_PASSWORD="abcd",
)

from suomifi_messages.client import SuomiFiClient  # noqa: E402
from suomifi_messages.errors import SuomiFiClientError, SuomiFiDuplicateMessageError  # noqa: E402
from suomifi_messages.schemas import Address, BodyFormat  # noqa: E402

WITH_MAILBOX = "010594Y9032"
WITHOUT_MAILBOX = "010594Y9021"
PDF = b"%PDF-1.7\n" + b" " * 2048 + b"\n%%EOF\n"

passed = 0
failed = 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


client = SuomiFiClient("qa")
client.base_url = os.environ["SIM_URL"]
client.login()
check("login gives a token with its lifetime", client.token and client.token_expiry)

pdf_id = client.upload_attachment("paatos.pdf", PDF)
check("upload without a part content type", bool(pdf_id))

message_id, external_id = client.send_electronic_message(
    title="Päätös",
    body="Päätös liitteenä.",
    body_format=BodyFormat.TEXT,
    recipient_id=WITH_MAILBOX,
    attachment_ids=[pdf_id],
)
check("electronic message sent", isinstance(message_id, int))

try:
    client.send_electronic_message(
        title="Päätös",
        body="Päätös liitteenä.",
        body_format=BodyFormat.TEXT,
        recipient_id=WITH_MAILBOX,
        external_id=external_id,
    )
    check("a repeated externalId is a duplicate", False)
except SuomiFiDuplicateMessageError as error:
    check("a repeated externalId is a duplicate with the first id", error.message_id == message_id)

try:
    client.send_electronic_message(
        title="Päätös", body="B", body_format=BodyFormat.TEXT, recipient_id=WITHOUT_MAILBOX
    )
    check("electronic-only without a mailbox is refused", False)
except SuomiFiClientError as error:
    check("electronic-only without a mailbox is refused", "MAILBOX_NOT_IN_USE" in str(error.response_body))

address = Address(
    city="Helsinki", country_code="FI", name="Maija Meikäläinen", street_address="Katu 1", zip_code="00100"
)
paper_id, _ = client.send_multichannel_message(
    title="Kutsu",
    body="Kutsu kuulemiseen.",
    body_format=BodyFormat.MARKDOWN,
    recipient_id=WITHOUT_MAILBOX,
    recipient_address=address,
    sender_address=address,
    paper_mail_attachment_id=pdf_id,
)
check("multichannel message sent", isinstance(paper_id, int))

without_id, _ = client.send_paper_mail_without_id(address, address, pdf_id, verifiable=True)
check("paper mail without id sent", isinstance(without_id, int))

check("mailbox check", client.check_mailboxes([WITH_MAILBOX, WITHOUT_MAILBOX]) == [WITH_MAILBOX])

events, token = client.get_events()
types = {str(getattr(event.type, "value", event.type)) for event in events}
check("events arrive", {"Electronic message created", "Paper mail created"} <= types, types)
more, next_token = client.get_events(token)
check("continuation token pages on", more == [] and next_token == token)

print(f"helsinki-client: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
