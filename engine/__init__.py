"""The step runtime: discovery, HTTP edge, queues, cron, state and locks. Knows no domain."""

from .context import Emit, FlowContext
from .triggers import ApiRequest, ApiResponse, HttpAuth, QueueConfig, Reply, cron, http, queue

__all__ = [
    "ApiRequest",
    "ApiResponse",
    "Emit",
    "FlowContext",
    "HttpAuth",
    "QueueConfig",
    "Reply",
    "cron",
    "http",
    "queue",
]
