"""The operator console: server-rendered pages at `/console` on the api processes.

Mounted by the CLI's wiring through the engine's generic hook for more HTTP routes
(`EngineOptions.http_extensions`), so the engine knows no console and the console is no step
(not in the flow graph, not in the OpenAPI document). Its pages call the same functions as the
CLI: `engine.operator`, `services.operator_views`, the party sync's `handle` and the audit
trail. See docs/operations.md ("The operator console").
"""

from .app import console_extension

__all__ = ["console_extension"]
