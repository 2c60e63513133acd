"""A faithful fake of the EspoCRM ("VMH") REST API with in-memory state, outgoing webhooks and
the firm's sync hooks. See `docs/simulators/espocrm.md`."""

from .app import build_espocrm_app
from .config import EspoSimConfig, WebhookSubscriptionConfig
from .simulator import EspoSimulator

__all__ = ["EspoSimConfig", "EspoSimulator", "WebhookSubscriptionConfig", "build_espocrm_app"]
