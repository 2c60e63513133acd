"""Generated German-looking names for seed data. Combinations of common name parts, not real
people; umlauts and ß on purpose, so encodings get exercised (webhook bodies escape them)."""

from __future__ import annotations

FIRST_NAMES = (
    "Jürgen", "Björn", "Sören", "Jörg", "Günther", "Ömer", "Uwe", "Käthe", "Lüdiger", "Anja",
    "Bärbel", "Dörte", "Hannelore", "Maximilian", "Lena", "Sophie", "Lukas", "Özlem", "Till",
    "Marlene", "Friedrich", "Henrike", "Götz", "Mühlfried", "Ines", "Ralf", "Sünje", "Tjark",
)  # fmt: skip
LAST_NAMES = (
    "Müller", "Schröder", "Weiß", "Großmann", "Köhler", "Bäcker", "Mößner", "Krüger", "Jäger",
    "Schäfer", "Hölzl", "Vögele", "Lührs", "Fuchs", "Brandtner", "Özdemir", "Straßburger",
    "Kühne", "Dörfler", "Sauerbrey", "Wendlandt", "Ebersbächer", "Thörner", "Pfäffle",
)  # fmt: skip
COMPANY_WORDS = (
    "Bäckerei", "Möbelhaus", "Autohaus", "Grünbau", "Überland", "Nordlicht", "Weißdorn",
    "Sägewerk", "Brückner", "Fährmann", "Lindgrün", "Rheinblick", "Alpenglühen", "Hafenkröne",
)  # fmt: skip
RECHTSFORMEN = ("GmbH", "GmbH & Co. KG", "AG", "UG (haftungsbeschränkt)", "e.K.", "KG", "OHG")
REGISTERGERICHTE = ("Amtsgericht München", "Amtsgericht Köln", "Amtsgericht Düsseldorf", "Amtsgericht Lübeck")
TITLES = ("", "", "", "Dr.", "Prof. Dr.", "Dipl.-Ing.")
STREETS = (
    "Hauptstraße", "Bahnhofstraße", "Schloßallee", "Gartenweg", "Mühlenstraße", "Lindenstraße",
    "Königsplatz", "Am Bürgerpark", "Rosenstraße", "Fährstraße", "Über der Höhe",
)  # fmt: skip
TOWNS = (
    ("80331", "München"), ("50667", "Köln"), ("40213", "Düsseldorf"), ("23552", "Lübeck"),
    ("01067", "Dresden"), ("79098", "Freiburg im Breisgau"), ("97070", "Würzburg"),
    ("48143", "Münster"), ("66111", "Saarbrücken"), ("24103", "Kiel"),
)  # fmt: skip
BANKS = (
    ("Sparkasse Mühlental", "SPKADE2MXXX"), ("Volksbank Nordsee", "GENODEF1NSV"),
    ("Raiffeisenbank Süd", "GENODEF1RBS"), ("Stadtsparkasse Überlingen", "SOLADES1ULG"),
)  # fmt: skip
EMAIL_DOMAINS = ("example.de", "example.com", "example.org", "beispiel.example")
