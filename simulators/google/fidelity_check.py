"""Drive the simulator with Google's own client library to check the wire contract:
`python -m simulators.google.fidelity_check` (needs `google-api-python-client`, which is not a
project dependency; install it in a scratch venv).

It runs the service-account JWT flow (a fresh key the simulator is told to trust) against the
fake `/token`, then calendars, events, recurrence, paging, sync tokens and the 410s through
`googleapiclient`, and prints each step.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from simulators.common.server import start_app
from simulators.google.app import API_BASE, build_google_app
from simulators.google.config import GoogleSimConfig
from simulators.google.keys import SANDBOX_SERVICE_ACCOUNT, generate_key_info, public_key_of


def _service(base: str, info: dict[str, Any]) -> Any:
    from google.oauth2 import service_account
    from googleapiclient.discovery import build

    info = {**info, "token_uri": base + "/token"}
    scopes = ["https://www.googleapis.com/auth/calendar"]
    creds = service_account.Credentials.from_service_account_info(info, scopes=scopes)
    options = {"api_endpoint": base + API_BASE}
    return build("calendar", "v3", credentials=creds, client_options=options, cache_discovery=False)


def _check(svc: Any) -> None:
    from googleapiclient.errors import HttpError

    cal = svc.calendars().insert(body={"summary": "SB", "timeZone": "Europe/Berlin"}).execute()["id"]
    body = {"id": "fidel0001", "summary": "Serie", "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
            "start": {"dateTime": "2026-03-16T10:00:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2026-03-16T11:00:00", "timeZone": "Europe/Berlin"}}  # fmt: skip
    print("insert", svc.events().insert(calendarId=cal, body=body).execute()["etag"])
    events = svc.events()
    page = events.list(calendarId=cal, singleEvents=True, orderBy="startTime", maxResults=2).execute()
    last = events.list(
        calendarId=cal, singleEvents=True, orderBy="startTime", pageToken=page["nextPageToken"]
    ).execute()
    print("instances", [i["start"]["dateTime"] for i in page["items"] + last["items"]])
    events.patch(calendarId=cal, eventId=page["items"][1]["id"], body={"summary": "moved"}).execute()
    events.delete(calendarId=cal, eventId="fidel0001").execute()
    for call in (lambda: events.delete(calendarId=cal, eventId="fidel0001"),
                 lambda: events.list(calendarId=cal, syncToken="bogus")):  # fmt: skip
        try:
            call().execute()
        except HttpError as exc:
            print("expected error", exc.resp.status, exc.error_details)
    delta = events.list(calendarId=cal, syncToken=last["nextSyncToken"]).execute()
    print("delta", [(i["id"], i["status"]) for i in delta["items"]])
    far = {**body, "id": "fidel0002", "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=2"],
           "start": {"dateTime": "2029-03-19T10:00:00", "timeZone": "Europe/Berlin"},
           "end": {"dateTime": "2029-03-19T11:00:00", "timeZone": "Europe/Berlin"}}  # fmt: skip
    events.insert(calendarId=cal, body=far).execute()
    print("far series listed", [i["id"] for i in events.list(calendarId=cal).execute()["items"]])
    print(
        "instances",
        [i["id"] for i in events.instances(calendarId=cal, eventId="fidel0002").execute()["items"]],
    )
    rule = {"role": "writer", "scope": {"type": "user", "value": "sb@kanzlei.example"}}
    print("acl", svc.acl().insert(calendarId=cal, body=rule).execute()["id"],
          [r["id"] for r in svc.acl().list(calendarId=cal).execute()["items"]])  # fmt: skip
    svc.calendars().delete(calendarId=cal).execute()
    print("ok")


def main() -> None:
    info = generate_key_info(SANDBOX_SERVICE_ACCOUNT, "http://127.0.0.1/token")
    config = GoogleSimConfig(service_accounts=[public_key_of(info)])
    loop = asyncio.new_event_loop()
    running = loop.run_until_complete(start_app(build_google_app(config)))
    threading.Thread(target=loop.run_forever, daemon=True).start()
    _check(_service(running.url, info))


if __name__ == "__main__":
    main()
