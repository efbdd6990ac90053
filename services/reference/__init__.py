"""Reference data checked against real lists: countries (ISO 3166-1, M49, names in the six UN
languages), the UN regional commissions as sets of countries, the 169 SDG targets, entity
identifier schemes (IATI organisation identifiers) and UN designation footnotes.

Each list is read from a maintained package (pycountry, for ISO 3166-1) or from a data file
under ``data/`` that names its source and version; docs/REFERENCE_DATA.md lists them. Nothing
here touches the database: the lists ship with the release that checks against them."""
