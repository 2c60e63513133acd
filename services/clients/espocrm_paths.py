"""Every EspoCRM API path in one table (EXTERNAL_SYSTEMS 2.2), relative to
ESPOCRM_API_BASE_URL (which already ends in `/api/v1`)."""

from __future__ import annotations

from services.clients.routes import Route

ENTITY_LIST = Route("{entity}")
ENTITY = Route("{entity}/{id}")
LINKED = Route("{entity}/{id}/{link}")  # records linked to one record, e.g. a party's addresses
NOTIFICATION = Route("Notification")
WEBHOOKS = Route("Webhook")
WEBHOOK = Route("Webhook/{id}")
APP_USER = Route("App/user")
METADATA = Route("Metadata")
