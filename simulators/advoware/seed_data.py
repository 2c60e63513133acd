"""Word lists for generated seed data. Names are common German first and last names combined at
random (no real person is modelled); companies, banks and streets are invented; e-mail domains
are the reserved `example.*` ones."""

from __future__ import annotations

# Word lists are kept compact on purpose; one item per line would make them unreadable.
# fmt: off
FIRST_NAMES_F = (
    "Anna", "Bärbel", "Charlotte", "Dörte", "Elke", "Frauke", "Gisela", "Hannah", "Ilse", "Jana",
    "Käthe", "Lea", "Marie", "Nele", "Özlem", "Petra", "Renée", "Sabine", "Tanja", "Ursula",
)
FIRST_NAMES_M = (
    "Andreas", "Björn", "Christoph", "Dirk", "Emil", "Felix", "Günther", "Hans-Jürgen", "Ingo",
    "Jürgen", "Klaus", "Lukas", "Malte", "Niklas", "Ole", "Rüdiger", "Sören", "Thorsten", "Uwe",
)
LAST_NAMES = (
    "Müller", "Schäfer", "Weiß", "Köhler", "Böhm", "Krüger", "Schröder", "Groß", "Jäger",
    "Günther", "Fuchs", "Hoffmann", "Wagner", "Becker", "Lehmann", "Förster", "Kühn", "Möller",
    "Schulze", "Zimmermann", "Bäcker", "Lüdtke", "Oßwald", "Dreßler", "Nußbaum", "Öztürk",
)
COMPANY_TRADES = (
    "Bau", "Immobilien", "Steuerberatung", "Metallbau", "Gärtnerei", "Logistik", "Brauerei",
    "Autohaus", "Elektrotechnik", "Bäckerei", "Software", "Verwaltungs",
)
# (rechtsform, register kind or None when the form has no Handelsregister entry)
LEGAL_FORMS = (
    ("GmbH", "HRB"), ("GmbH & Co. KG", "HRA"), ("KG", "HRA"), ("AG", "HRB"), ("GbR", None),
    ("UG (haftungsbeschränkt)", "HRB"), ("e.K.", "HRA"), ("OHG", "HRA"),
)
# (city, first two postcode digits, phone area code)
CITIES = (
    ("München", "80", "89"), ("Köln", "50", "221"), ("Düsseldorf", "40", "211"),
    ("Nürnberg", "90", "911"), ("Lübeck", "23", "451"), ("Göttingen", "37", "551"),
    ("Würzburg", "97", "931"), ("Osnabrück", "49", "541"), ("Saarbrücken", "66", "681"),
    ("Berlin", "10", "30"), ("Hamburg", "20", "40"), ("Tübingen", "72", "7071"),
)
STREETS = (
    "Hauptstraße", "Bahnhofstraße", "Schloßallee", "Mühlenweg", "Königsplatz", "Gartenstraße",
    "Lindenstraße", "Am Brückentor", "Rosenstraße", "Kirchgäßchen", "Grüner Weg", "Dorfstraße",
)
BANKS = (
    ("Sparkasse Beispielstadt", "SPBS"), ("Volksbank Musterland eG", "VBML"),
    ("Raiffeisenbank Nirgendwo", "RBNW"), ("Beispielbank AG", "BSPB"),
    ("Fiktivbank Süd", "FKBS"),
)
TERMIN_TEXTS = (
    "Mandantengespräch", "Gerichtstermin", "Besprechung Vergleich", "Telefonkonferenz",
    "Akteneinsicht", "Fristablauf Berufung", "Kanzleibesprechung", "Güteverhandlung",
    "Notartermin", "Ortstermin", "Schulung Fachanwalt", "Rückruf Mandantin",
)
TERMIN_PLACES = (
    "Besprechungsraum 1", "Besprechungsraum 2", "Amtsgericht, Saal 1.07", "Landgericht, Saal 2.104",
    "Videokonferenz", None, None,
)
# fmt: on

UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


def ascii_slug(text: str) -> str:
    """`Jürgen Müller-Lüdtke` → `juergen.mueller-luedtke`, for generated e-mail addresses."""
    cleaned = text.translate(UMLAUTS).lower().replace(" ", ".")
    return "".join(c for c in cleaned if c.isascii() and (c.isalnum() or c in ".-"))
