"""Every Advoware API path in one table (EXTERNAL_SYSTEMS 1.4 and open point 1).

Only the party path is confirmed by the seeds; the nested Kommunikation/Adressen/
Bankverbindungen paths, `Mitarbeiter` and `Termine` are the simulator's proposal. Correct them
here when the real API shows otherwise. Paths are relative to ADVOWARE_API_BASE_URL.
"""

from __future__ import annotations

from services.clients.routes import Route

TOKEN = Route("api/v1/Token")  # sent to ADVOWARE_TOKEN_URL (the security gateway)

PARTIES = Route("api/v1/advonet/Beteiligte")
PARTY = Route("api/v1/advonet/Beteiligte/{betnr}")
KOMMUNIKATIONEN = Route("api/v1/advonet/Beteiligte/{betnr}/Kommunikationen")
KOMMUNIKATION = Route("api/v1/advonet/Beteiligte/{betnr}/Kommunikationen/{komm_id}")
ADRESSEN = Route("api/v1/advonet/Beteiligte/{betnr}/Adressen")
ADRESSE = Route("api/v1/advonet/Beteiligte/{betnr}/Adressen/{reihenfolge_index}")
BANKVERBINDUNGEN = Route("api/v1/advonet/Beteiligte/{betnr}/Bankverbindungen")
MITARBEITER = Route("api/v1/advonet/Mitarbeiter")
TERMINE = Route("api/v1/advonet/Termine")
TERMIN = Route("api/v1/advonet/Termine/{frnr}")

ALL = (
    PARTIES,
    PARTY,
    KOMMUNIKATIONEN,
    KOMMUNIKATION,
    ADRESSEN,
    ADRESSE,
    BANKVERBINDUNGEN,
    MITARBEITER,
    TERMINE,
    TERMIN,
)
PROXY_FALLBACK = "(other)"
