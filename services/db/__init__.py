"""The service's own database: durable sync state, create intents, audit trail, notifications.

PostgreSQL (asyncpg) in production, SQLite in embedded mode, one async interface (`Database`),
plain-SQL migrations per dialect in `migrations/`. See docs/database.md.
"""

from services.calendar.mappings import CalendarEmployee, CalendarMapping

from .calendar import CalendarMappingExists
from .clock import utc_now
from .database import Database
from .factory import make_driver, migrate_url, open_database
from .masking import MASK, mask_decision
from .migrations import DIALECTS, load_migrations, migration_names
from .models import (
    AuditEntry,
    AuditRecord,
    BankAccountState,
    Block,
    Intent,
    OutboxNotification,
    OutcomeCount,
    PartySyncState,
    SentNotification,
)
from .run_state import PartyRunState

__all__ = [
    "DIALECTS",
    "MASK",
    "AuditEntry",
    "AuditRecord",
    "BankAccountState",
    "Block",
    "CalendarEmployee",
    "CalendarMapping",
    "CalendarMappingExists",
    "Database",
    "Intent",
    "OutboxNotification",
    "OutcomeCount",
    "PartyRunState",
    "PartySyncState",
    "SentNotification",
    "load_migrations",
    "make_driver",
    "mask_decision",
    "migrate_url",
    "migration_names",
    "open_database",
    "utc_now",
]
