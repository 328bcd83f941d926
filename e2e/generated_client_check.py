"""Import and read back the seed example with a client generated from /communications/schema/.

Run by scripts/generated_client_check.sh, which generates the client with
openapi-python-client and starts the server; the client package is on sys.path.
"""

import base64
import json
import os
import sys
from pathlib import Path

from historical_communications_store_client import AuthenticatedClient
from historical_communications_store_client.api.department import (
    get_historical_message,
    list_historical_messages,
    save_historical_messages,
)
from historical_communications_store_client.models import SaveMessagesRequest

SEED = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "seed_example.json"


def main() -> int:
    token = base64.b64encode(f"{os.environ['CHECK_CLIENT']}:{os.environ['CHECK_SECRET']}".encode()).decode()
    client = AuthenticatedClient(base_url=os.environ["CHECK_BASE_URL"], token=token, prefix="Basic")
    department, customer = os.environ["CHECK_DEPARTMENT"], "generated-client-customer"
    seed = json.loads(SEED.read_text())

    saved = save_historical_messages.sync_detailed(
        department, customer, client=client, body=SaveMessagesRequest.from_dict(seed)
    )
    assert saved.status_code == 200, saved.content
    assert saved.parsed.succesfully_submitted_source_uuids == ["string"], saved.content
    listed = list_historical_messages.sync_detailed(department, customer, client=client, include_trashed=True)
    assert listed.status_code == 200, listed.content
    [item] = listed.parsed.results
    one = get_historical_message.sync_detailed(department, customer, "string", client=client)
    assert one.status_code == 200, one.content
    sent = seed["saveMessageRequestList"][0]
    read = one.parsed.to_dict()
    assert item.to_dict() == read
    assert read["messageAttributes"]["purpose"] == sent["messageAttributes"]["purpose"]
    assert read["voiceCallAttributes"]["callStatus"] == sent["voiceCallAttributes"]["callStatus"]
    assert read["messageAttributes"]["messageTags"][0]["secondaryAttributes"] == [{"value": "string"}]
    print("generated client: imported and read back the seed example")
    return 0


if __name__ == "__main__":
    sys.exit(main())
